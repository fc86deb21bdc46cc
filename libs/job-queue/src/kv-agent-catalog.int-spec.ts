import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, type RunningNats } from '../../../test/harness/servers.js';
import { AGENTS_BUCKET, AGENT_WORKERS_BUCKET, KvAgentCatalog, workerKey } from './kv-agent-catalog.js';
import { agentCatalogConformance } from './testing/agent-catalog.conformance.js';

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.destroy();
});

agentCatalogConformance('nats kv', async () => KvAgentCatalog.create({ servers: nats.url }));

describe('KvAgentCatalog specifics', () => {
  it('keeps definitions in one KV bucket and liveness per (agent, worker) in another', async () => {
    const c = await KvAgentCatalog.create({ servers: nats.url });
    await c.announce('w-kv', [{ name: 'kvshape', description: 'd', input_schema: { type: 'object' } }], 60_000);
    const nc = await connect({ servers: nats.url });
    const kvm = new Kvm(nc);
    const defs = await kvm.open(AGENTS_BUCKET);
    const workers = await kvm.open(AGENT_WORKERS_BUCKET);
    expect(JSON.parse((await defs.get('kvshape'))!.string())).toMatchObject({ name: 'kvshape', description: 'd' });
    const live = JSON.parse((await workers.get(workerKey('kvshape', 'w-kv')))!.string()) as { worker_id: string };
    expect(live.worker_id).toBe('w-kv');
    await nc.close();
    await c.close();
  });

  it('reads current values without leaving consumers on the server', async () => {
    const c = await KvAgentCatalog.create({ servers: nats.url });
    await c.announce('w-reads', [{ name: 'kvreads', description: 'd', input_schema: { type: 'object' } }], 60_000);
    await c.announce('w-gone', [{ name: 'kvreads', description: 'd', input_schema: { type: 'object' } }], 60_000);
    await c.withdraw('w-gone', ['kvreads']);
    expect((await c.get('kvreads'))?.workers).toBe(1);
    expect((await c.list()).find((a) => a.name === 'kvreads')?.workers).toBe(1);
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    for (const bucket of [AGENTS_BUCKET, AGENT_WORKERS_BUCKET])
      expect(await jsm.consumers.list(`KV_${bucket}`).next()).toEqual([]);
    await nc.close();
    await c.close();
  });
});
