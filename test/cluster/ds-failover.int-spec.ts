/**
 * Durable Streams through a JetStream leader SIGKILL on a real 3-node cluster (JETSTREAM_REPLICAS=3, Redis for the
 * metadata): an idempotent producer (`@durable-streams/client`) whose requests are retried on 503 and on lost
 * connections appends every message exactly once, in order, while the leader of the streams' JetStream stream dies
 * and comes back; and a Durable Streams reader of a running job, while the leader of the events stream dies, ends
 * with exactly the job's events.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DurableStream, IdempotentProducer, stream } from '@durable-streams/client';
import { EVENTS_STREAM, type JobEvent } from '@jobstream/contracts';
import { DS_STREAM } from '@jobstream/event-log';
import { startNatsCluster, startRedis, type RunningNatsCluster, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { readAll } from '../support/sse-client.js';
import { collectUntilClosed } from '../support/ds-read.js';
import { sleep, waitFor } from '../support/wait.js';
import { streamLeader } from './cluster-scenario.js';

const KEY = 'ds-failover-key-01';
const auth = { Authorization: `Bearer ${KEY}` };

let retries = 0;
/** A fetch that retries what a failover answers (503, a lost connection) with the same request, for 60 s. */
const retrying: typeof fetch = async (input, init) => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(input, init);
      if (r.status !== 503 && r.status !== 502 && r.status !== 504) return r;
      if (Date.now() > deadline) return r;
      await r.body?.cancel();
    } catch (err) {
      if (Date.now() > deadline || (init?.signal?.aborted ?? false)) throw err;
    }
    retries++;
    await sleep(100); // a client's retry pause, not a synchronization
  }
};

describe('Durable Streams across a JetStream leader SIGKILL (3-node cluster)', () => {
  let cluster: RunningNatsCluster;
  let redis: RunningServer;
  let app: TestApp;
  beforeAll(async () => {
    [cluster, redis] = await Promise.all([startNatsCluster(3), startRedis()]);
    app = await startTestApp({
      NATS_URL: cluster.urls,
      REDIS_URL: redis.url,
      JETSTREAM_REPLICAS: '3',
      EMBEDDED_WORKER: 'true',
      API_KEYS: `acme:${KEY}`,
      DS_LONG_POLL_MS: '1000',
    });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([cluster?.destroy(), redis?.destroy()]);
  });

  const killLeaderOf = async (name: string) => {
    const leader = await streamLeader(cluster, name);
    expect(leader).not.toBeNull();
    await leader!.stop('SIGKILL');
    await waitFor(
      async () => {
        const l = await streamLeader(cluster, name);
        return l !== null && l !== leader;
      },
      { timeoutMs: 60_000, intervalMs: 50, retryErrors: true, message: `a new leader of ${name}` },
    );
    await leader!.restart();
  };

  it('an idempotent producer appends every message exactly once through the failover', async () => {
    const url = `${app.url}/ds/v1/stream/failover/producer`;
    const handle = await DurableStream.create({ url, contentType: 'application/json', headers: auth });
    const producer = new IdempotentProducer(handle, 'failover-producer', {
      fetch: retrying,
      lingerMs: 0,
      maxInFlight: 1,
      headers: auth,
    });
    // append (flushing every 10) from before the kill until the old leader is back, and at least 120
    let killDone = false;
    let killed: Promise<void> | null = null;
    let N = 0;
    while (N < 120 || !killDone) {
      producer.append(JSON.stringify({ i: N }));
      N++;
      if (N % 10 === 0) await producer.flush();
      if (N === 60) killed = killLeaderOf(DS_STREAM).then(() => void (killDone = true));
    }
    await producer.flush();
    await killed;
    await producer.close();
    process.stdout.write(`ds failover: ${N} appends, ${retries} retried requests (503 or lost connection)\n`);
    const res = await stream<{ i: number }>({ url, headers: auth, offset: '-1', live: false, fetch: retrying });
    const items = await res.json();
    expect(items.map((x) => x.i)).toEqual(Array.from({ length: N }, (_, i) => i));
  }, 180_000);

  it('a Durable Streams reader of a running job gets exactly its events through the failover', async () => {
    const created = await app.api('/v1/jobs', {
      body: {
        agent: 'echo',
        input: { message: Array.from({ length: 60 }, (_, i) => `w${i}`).join(' '), delay_ms: 50 },
      },
      headers: auth,
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    const res = await stream<JobEvent>({
      url: `${app.url}/ds/v1/stream/jobs/${id}`,
      headers: auth,
      offset: '-1',
      live: 'sse',
      fetch: retrying,
    });
    const items: JobEvent[] = [];
    const done = collectUntilClosed(res, items);
    await waitFor(() => items.length >= 10, { timeoutMs: 30_000, message: 'the job to be streaming' });
    await killLeaderOf(EVENTS_STREAM);
    await done;
    const sse = await readAll(`${app.url}/v1/jobs/${id}/stream`, { headers: auth, retryUnavailable: 20 });
    const expected = sse.events().map(({ id: _id, ...e }) => e);
    expect(items.map((e) => e.seq)).toEqual(expected.map((e) => e.seq));
    expect(items).toEqual(expected);
  }, 180_000);
});
