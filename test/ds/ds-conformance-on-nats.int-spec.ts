/**
 * The Durable Streams server conformance suite against the production engine: frames in JetStream, metadata in
 * Redis (real nats-server -js and redis-server from the harness), through a proxy that adds the tenant's API key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stream, type LiveMode } from '@durable-streams/client';
import type { JobEvent } from '@jobstream/contracts';
import { readAll } from '../support/sse-client.js';
import { collectUntilClosed } from '../support/ds-read.js';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { runDsConformance } from '../support/ds-conformance.js';

const KEY = 'ds-conformance-key-2';

describe('Durable Streams conformance (JetStream + Redis)', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  let app: TestApp;
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    app = await startTestApp({
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      EMBEDDED_WORKER: 'true',
      API_KEYS: `acme:${KEY}`,
      DS_LONG_POLL_MS: '1000',
      CORS_ORIGINS: '*',
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });

  it('passes every test of @durable-streams/server-conformance-tests', async () => {
    const r = await runDsConformance(app.url, KEY);
    console.log(
      `durable streams conformance (jetstream + redis): ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped of ${r.total} in ${r.seconds.toFixed(1)} s` +
        (r.failures.length ? `\nfailed:\n  ${r.failures.join('\n  ')}` : ''),
    );
    if (process.env.DS_CONFORMANCE_OUT)
      (await import('node:fs')).writeFileSync(process.env.DS_CONFORMANCE_OUT, r.output);
    if (r.total === 0) console.log(r.output.slice(-4000));
    expect(r.total).toBeGreaterThan(300);
    expect(r.failures).toEqual([]);
    expect(r.failed).toBe(0);
  }, 600_000);

  it.each<LiveMode>([false, 'sse', 'long-poll'])(
    'reads a job (live: %s) with @durable-streams/client: its SSE events, exactly once, closed at the end',
    async (live) => {
      const auth = { Authorization: `Bearer ${KEY}` };
      const created = await app.api('/v1/jobs', {
        body: { agent: 'echo', input: { message: 'From JetStream, through the open protocol.', delay_ms: 20 } },
        headers: auth,
      });
      const id = (created.body as { id: string }).id;
      if (live === false) await app.api(`/v1/jobs/${id}/wait?timeout_s=30`, { headers: auth });
      const res = await stream<JobEvent>({
        url: `${app.url}/ds/v1/stream/jobs/${id}`,
        headers: auth,
        offset: '-1',
        live,
      });
      const items = await collectUntilClosed(res);
      const sse = await readAll(`${app.url}/v1/jobs/${id}/stream`, { headers: auth });
      expect(items).toEqual(sse.events().map(({ id: _id, ...e }) => e));
      expect(items.at(-1)?.type).toBe('done');
    },
    60_000,
  );
});
