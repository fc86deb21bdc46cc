/**
 * The production engine under failure, through the real API and SSE clients: two API instances serving one job,
 * nats-server killed and restarted mid-stream, Redis restarted, and the broker footprint of many clients.
 */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { openSse, readAll, tokenText, type SseResponse } from '../support/sse-client.js';
import { sleep, waitFor } from '../support/wait.js';

const words = (n: number) => Array.from({ length: n }, (_, i) => `t${i} `).join('');

function expectExact(s: SseResponse, message: string): void {
  const events = s.events();
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events[events.length - 1]!.type).toBe('done');
  expect(tokenText(events as JobEvent[])).toBe(message);
}

describe('production engine under failure', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  const apps: TestApp[] = [];
  const env = () => ({ NATS_URL: nats.url, REDIS_URL: redis.url, HEARTBEAT_MS: '500', JOB_STALL_TIMEOUT_MS: '3000' });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });
  afterAll(async () => {
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });

  const boot = async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis({ persist: true })]);
    // A runs the worker; B is a second API instance with no worker (as behind a load balancer)
    const a = await startTestApp({ ...env(), EMBEDDED_WORKER: 'true' });
    const b = await startTestApp(env());
    apps.push(a, b);
    return { a, b };
  };

  it('serves one job to clients of two API instances, and resumes a cursor from one on the other', async () => {
    const { a, b } = await boot();
    const message = words(40);
    const job = (await b.api('/v1/jobs', { body: { agent: 'echo', input: { message, delay_ms: 15 } } })).body;
    const clients = await Promise.all(
      [...Array(5)].flatMap(() => [openSse(a.url + job.stream_url), openSse(b.url + job.stream_url)]),
    );
    const mover = await openSse(a.url + job.stream_url);
    await mover.until((items) => items.filter((i) => i.kind === 'event').length >= 8);
    mover.close();
    const seen = mover.events().slice(0, 8);
    const rest = await readAll(b.url + job.stream_url, { headers: { 'Last-Event-ID': seen[7]!.id } });
    await Promise.all(clients.map((c) => c.ended));
    for (const c of clients) expectExact(c, message);
    expect([...seen, ...rest.events()]).toEqual(clients[0]!.events());
  });

  it('keeps every client exact when nats-server is killed and restarted mid-stream', async () => {
    const { a, b } = await boot();
    const message = words(60);
    const job = (await a.api('/v1/jobs', { body: { agent: 'echo', input: { message, delay_ms: 40 } } })).body;
    const clients = await Promise.all(
      [...Array(4)].flatMap(() => [openSse(a.url + job.stream_url), openSse(b.url + job.stream_url)]),
    );
    await clients[0]!.until(
      (items) => items.filter((i) => i.kind === 'event' && i.event.type === 'token').length >= 10,
    );
    await nats.stop('SIGKILL');
    await sleep(1500); // the outage's length, not a synchronization
    await nats.restart();
    const ended = await Promise.race([
      Promise.all(clients.map((c) => c.ended)).then(() => true),
      sleep(20_000).then(() => false),
    ]);
    if (!ended) {
      const got = await a.api(`/v1/jobs/${job.id}`);
      const page = await a.api(`/v1/jobs/${job.id}/events?limit=1000`);
      throw new Error(
        `clients did not finish: last seqs ${clients.map((c) => c.events().at(-1)?.seq).join(',')}; job ${JSON.stringify(got.body)}; log has ${page.body.events?.length} events, types ${page.body.events?.map((e: { type: string }) => e.type).join(' ')}`,
      );
    }
    const seqs = clients.map((c) => c.events().length);
    for (const c of clients) expectExact(c, message);
    // what a client saw: one dense sequence, no duplicate, ending in done
    process.stdout.write(
      `nats kill/restart: ${clients.length} clients each received ${seqs[0]} events exactly once (seq 1..${seqs[0]})\n`,
    );
  });

  it('answers 503 for new jobs while Redis is down, keeps open streams flowing, and recovers by itself', async () => {
    const { a } = await boot();
    const message = words(30);
    const job = (await a.api('/v1/jobs', { body: { agent: 'echo', input: { message, delay_ms: 40 } } })).body;
    const s = await openSse(a.url + job.stream_url);
    await s.until((items) => items.some((i) => i.kind === 'event' && i.event.type === 'token'));
    await redis.stop();
    const down = await a.api('/v1/jobs', { body: { agent: 'echo', input: { message: 'x' } } });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('service_unavailable');
    expect(down.headers.get('retry-after')).toBeTruthy();
    await s.ended;
    expectExact(s, message);
    await redis.restart();
    await waitFor(
      async () => (await a.api('/v1/jobs', { body: { agent: 'echo', input: { message: 'back' } } })).status === 201,
      {
        intervalMs: 200,
        message: 'a job to be accepted again once Redis is back',
      },
    );
    // the worker records the job's end in the store once it can reach Redis again: wait for it, do not assume it
    let status = '';
    await waitFor(async () => (status = (await a.api(`/v1/jobs/${job.id}`)).body.status) === 'completed', {
      message: () => `the job to be completed in the store (status ${status})`,
    });
  });

  it('holds one live subscription per job, not per client (200 clients on 20 jobs)', async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const a = await startTestApp({ ...env(), EMBEDDED_WORKER: 'true', WORKER_CONCURRENCY: '32' });
    apps.push(a);
    const jobs = [];
    // each job parks on a question after its first token: every job is surely still live when the broker is looked
    // at, however long 200 clients take to connect on a busy machine (a job that ended would drop its subscription)
    for (let i = 0; i < 20; i++)
      jobs.push(
        (await a.api('/v1/jobs', { body: { agent: 'echo', input: { message: words(100), ask: { after: 1 } } } })).body,
      );
    const clients = await Promise.all(
      jobs.flatMap((j) => [...Array(10)].map(() => openSse(a.url + j.stream_url, { retryUnavailable: 5 }))),
    );
    await Promise.all(
      clients.map((c) =>
        c.until((items) => items.some((i) => i.kind === 'event' && i.event.type === 'input_required')),
      ),
    );
    const connz = (await (await fetch(`${nats.monitorUrl}/connz?subs=detail`)).json()) as {
      connections: {
        name?: string;
        subscriptions_list_detail?: { subject: string }[];
        subscriptions_list?: string[];
      }[];
    };
    const subjects = connz.connections.flatMap((c) =>
      (c.subscriptions_list_detail ?? []).map((d) => d.subject).concat(c.subscriptions_list ?? []),
    );
    const live = subjects.filter((s) => s.startsWith('jobstream.live.'));
    // consumers per stream; the agent catalogue's KV buckets (KV_*) are read with short-lived ordered consumers
    const jsz = (await (await fetch(`${nats.monitorUrl}/jsz?accounts=true&streams=true`)).json()) as {
      account_details?: { stream_detail?: { name: string; state: { consumer_count: number } }[] }[];
    };
    const streams = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
    const consumers = streams
      .filter((st) => !st.name.startsWith('KV_'))
      .reduce((n, st) => n + st.state.consumer_count, 0);
    process.stdout.write(
      `footprint: 200 SSE clients on 20 jobs → ${subjects.length} NATS subscriptions in all (${live.length} live job subscriptions), ${consumers} JetStream consumers\n`,
    );
    expect(live).toHaveLength(20);
    expect(new Set(live).size).toBe(20);
    // the dispatch consumer of (echo, this tenant) and the webhooks' feed consumer (per deployment, not per client):
    // replays of live jobs read with direct gets
    expect(consumers).toBe(2);
    for (const c of clients) c.close();
    for (const j of jobs) await a.api(`/v1/jobs/${j.id}/cancel`, { body: {} });
  });
});
