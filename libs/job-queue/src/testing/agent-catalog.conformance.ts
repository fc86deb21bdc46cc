/** The AgentCatalog conformance suite: every driver (memory, NATS KV) must pass it unchanged. */
import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor } from '../../../contracts/src/testing/wait.js';
import type { AgentCatalog, AgentDefinition } from '../agent-catalog.port.js';

export type AgentCatalogFactory = () => Promise<AgentCatalog>;

let seq = 0;
const fresh = (): AgentDefinition => ({
  name: `agent${Date.now().toString(36)}${seq++}`,
  description: 'an agent',
  input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
});

export function agentCatalogConformance(driver: string, factory: AgentCatalogFactory): void {
  describe(`AgentCatalog conformance: ${driver}`, () => {
    const open: AgentCatalog[] = [];
    const make = async () => {
      const c = await factory();
      open.push(c);
      return c;
    };
    afterEach(async () => {
      for (const c of open.splice(0)) await c.close();
    });

    it('lists an announced agent with its definition and its distinct live workers', async () => {
      const c = await make();
      const a = fresh();
      expect(await c.get(a.name)).toBeNull();
      await c.announce('worker-1', [a], 60_000);
      await c.announce('worker-2', [a], 60_000);
      await c.announce('worker-2', [a], 60_000); // a beat of the same worker counts once
      expect(await c.get(a.name)).toMatchObject({ ...a, workers: 2 });
      const listed = (await c.list()).find((e) => e.name === a.name);
      expect(listed).toMatchObject({ ...a, workers: 2, announced_at: expect.any(String) });
    });

    it("keeps the definition after its workers' TTL ran out (0 workers), and after a withdraw", async () => {
      const c = await make();
      const [a, b] = [fresh(), fresh()];
      await c.announce('short-lived', [a], 300);
      await c.announce('leaving', [b], 60_000);
      expect((await c.get(a.name))!.workers).toBe(1);
      await waitFor(async () => (await c.get(a.name))!.workers === 0, { message: 'the TTL to expire' });
      await c.withdraw('leaving', [b.name]);
      expect(await c.get(b.name)).toMatchObject({ ...b, workers: 0 });
      expect(await c.get(a.name)).toMatchObject({ ...a, workers: 0 });
    });

    it('takes the last announce of a name (a changed schema), and forgets a definition', async () => {
      const c = await make();
      const a = fresh();
      await c.announce('w1', [a], 60_000);
      const changed = { ...a, description: 'v2', input_schema: { type: 'object' } };
      await c.announce('w2', [changed], 60_000);
      expect(await c.get(a.name)).toMatchObject({ ...changed, workers: 2 });
      await c.forget(a.name);
      expect(await c.get(a.name)).toBeNull();
      expect((await c.list()).some((e) => e.name === a.name)).toBe(false);
    });

    it('is shared by every handle (another process sees the announce)', async () => {
      const [one, two] = [await make(), await make()];
      const a = fresh();
      await one.announce('w1', [a], 60_000);
      expect(await two.get(a.name)).toMatchObject({ name: a.name, workers: 1 });
    });
  });
}
