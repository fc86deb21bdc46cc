/**
 * The ByteLog conformance suite: every driver (memory, JetStream) must pass it unchanged.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { waitFor } from '../../../contracts/src/testing/wait.js';
import { ByteLogConflictError, type ByteLog } from '../byte-log.port.js';

export type ByteLogFactory = () => Promise<ByteLog>;

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const key = () => randomUUID().replace(/-/g, '');

export function byteLogConformance(driver: string, factory: ByteLogFactory): void {
  describe(`ByteLog conformance: ${driver}`, () => {
    const logs: ByteLog[] = [];
    const make = async () => {
      const l = await factory();
      logs.push(l);
      return l;
    };
    afterEach(async () => {
      await Promise.all(logs.splice(0).map((l) => l.close()));
    });

    it('gives positions that grow across keys, and reads a key after a position, oldest first', async () => {
      const log = await make();
      const [a, b] = [key(), key()];
      const p1 = (await log.append(a, bytes('a1'))).pos;
      const p2 = (await log.append(b, bytes('b1'))).pos;
      const p3 = (await log.append(a, bytes('a2'))).pos;
      expect(p1 < p2 && p2 < p3).toBe(true);
      expect((await log.read(a, 0, 10, 1e6)).map((f) => [f.pos, text(f.data)])).toEqual([
        [p1, 'a1'],
        [p3, 'a2'],
      ]);
      expect((await log.read(a, p1, 10, 1e6)).map((f) => text(f.data))).toEqual(['a2']);
      expect(await log.read(a, p3, 10, 1e6)).toEqual([]);
      expect(await log.lastPos(a)).toBe(p3);
      expect(await log.lastPos(key())).toBe(0);
    });

    it('keeps bytes exactly (all 256 values, empty frames)', async () => {
      const log = await make();
      const k = key();
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await log.append(k, all);
      await log.append(k, new Uint8Array(0));
      const [f1, f2] = await log.read(k, 0, 10, 1e6);
      expect([...f1!.data]).toEqual([...all]);
      expect(f2!.data.length).toBe(0);
    });

    it('bounds a read by frames and by bytes (at least one frame)', async () => {
      const log = await make();
      const k = key();
      for (let i = 0; i < 5; i++) await log.append(k, bytes(`frame-${i}`));
      expect((await log.read(k, 0, 2, 1e6)).length).toBe(2);
      expect((await log.read(k, 0, 10, 1)).length).toBe(1);
      expect((await log.read(k, 0, 10, 8)).length).toBe(2);
    });

    it('compare-and-append: only onto the expected newest frame (0: none); a conflict stores nothing', async () => {
      const log = await make();
      const k = key();
      const p1 = (await log.append(k, bytes('x'), { expectedLastPos: 0 })).pos;
      await expect(log.append(k, bytes('y'), { expectedLastPos: 0 })).rejects.toBeInstanceOf(ByteLogConflictError);
      const p2 = (await log.append(k, bytes('z'), { expectedLastPos: p1 })).pos;
      await expect(log.append(k, bytes('w'), { expectedLastPos: p1 })).rejects.toBeInstanceOf(ByteLogConflictError);
      expect((await log.read(k, 0, 10, 1e6)).map((f) => [f.pos, text(f.data)])).toEqual([
        [p1, 'x'],
        [p2, 'z'],
      ]);
    });

    it('dedup: a retried msgId appends nothing and answers the first pos, before the expectation is checked', async () => {
      const log = await make();
      const k = key();
      const first = await log.append(k, bytes('once'), { msgId: 'p:1', expectedLastPos: 0 });
      expect(first.duplicate).toBe(false);
      const again = await log.append(k, bytes('once'), { msgId: 'p:1', expectedLastPos: 0 });
      expect(again).toEqual({ pos: first.pos, duplicate: true });
      // the same id on another key is another append
      expect((await log.append(key(), bytes('once'), { msgId: 'p:1' })).duplicate).toBe(false);
      expect((await log.read(k, 0, 10, 1e6)).length).toBe(1);
    });

    it('wakes watchers of the key on notify, from another instance too; stop ends it', async () => {
      const [w, n] = [await make(), await make()];
      const k = key();
      let wakes = 0;
      const watch = await w.watch(k, () => wakes++);
      n.notify(k);
      n.notify(key());
      await waitFor(() => wakes >= 1);
      watch.stop();
      n.notify(k);
      await new Promise((r) => setTimeout(r, 50));
      expect(wakes).toBe(1);
    });

    it('delete removes one key and nothing of others', async () => {
      const log = await make();
      const [a, b] = [key(), key()];
      await log.append(a, bytes('a'));
      await log.append(b, bytes('b'));
      await log.delete(a);
      expect(await log.read(a, 0, 10, 1e6)).toEqual([]);
      expect(await log.lastPos(a)).toBe(0);
      expect((await log.read(b, 0, 10, 1e6)).map((f) => text(f.data))).toEqual(['b']);
    });
  });
}
