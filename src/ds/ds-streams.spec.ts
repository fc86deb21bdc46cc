/** DsStreams' bytes count across a write that fails half-way (frame stored, record not advanced). */
import { describe, expect, it } from '@jest/globals';
import { MemoryByteLog } from '@jobstream/event-log';
import { DsStreams, type AppendRequest } from './ds-streams.js';
import { MemoryDsStore } from './store/memory-ds-store.js';
import type { DsStreamRecord } from './store/ds-store.port.js';

/** The memory store whose next `replace` fails like a lost connection. */
class FlakyStore extends MemoryDsStore {
  failNext = false;
  override replace(tenant: string, name: string, next: DsStreamRecord, expectedRev: number): Promise<boolean> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('store down'));
    }
    return super.replace(tenant, name, next, expectedRev);
  }
}

const text = (s: string, over: Partial<AppendRequest> = {}): AppendRequest => ({
  contentType: 'text/plain',
  body: new TextEncoder().encode(s),
  closed: false,
  producer: null,
  ...over,
});

async function setup() {
  const log = new MemoryByteLog();
  const store = new FlakyStore();
  const streams = new DsStreams(log, store, { maxStreams: 10, maxBytes: 10 });
  await streams.create('t', 'x', {
    contentType: 'text/plain',
    expiry: {},
    closed: false,
    fork: null,
    body: new Uint8Array(),
  });
  return { log, store, streams };
}

describe('DsStreams bytes after a half-way failure', () => {
  it('counts a frame the failed write left in the log when the next write folds it in', async () => {
    const { store, streams } = await setup();
    store.failNext = true;
    await expect(streams.append('t', 'x', text('abc'))).rejects.toThrow('store down');
    expect(await store.bytes('t')).toBe(0);
    await streams.append('t', 'x', text('de'));
    expect(await store.bytes('t')).toBe(5);
    expect((await store.get('t', 'x'))?.record.bytes).toBe(5);
    // the count admits what it holds: 5 more would pass 10
    await expect(streams.append('t', 'x', text('fghijk'))).rejects.toMatchObject({
      status: 429,
      code: 'quota_exceeded',
    });
  });

  it("counts a producer's retried append once, whether its first attempt landed or not", async () => {
    const { store, streams } = await setup();
    const producer = { id: 'p', epoch: 0, seq: 0 };
    store.failNext = true;
    await expect(streams.append('t', 'x', text('abc', { producer }))).rejects.toThrow('store down');
    const r = await streams.append('t', 'x', text('abc', { producer }));
    expect(r.status).toBe(200);
    expect(await store.bytes('t')).toBe(3);
    // a duplicate costs nothing
    expect((await streams.append('t', 'x', text('abc', { producer }))).status).toBe(204);
    expect(await store.bytes('t')).toBe(3);
  });
});
