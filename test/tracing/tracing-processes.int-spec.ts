/**
 * One job, one trace, two processes: the API (this process) and a real worker process (`dist/src/worker/main.js`)
 * both export to a local OTLP/HTTP receiver; the worker continues the trace from the W3C traceparent carried in the
 * NATS dispatch message's headers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { readAll } from '../support/sse-client.js';
import { renderTree, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { waitFor } from '../support/wait.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';

describe('a job traced across the API and a worker process (OTLP/HTTP)', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  let otlp: OtlpReceiver;
  let app: TestApp | undefined;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    [nats, redis, otlp] = await Promise.all([startNats(), startRedis(), startOtlpReceiver()]);
  });
  afterAll(async () => {
    await app?.close();
    await worker?.stop('SIGKILL');
    await Promise.all([nats?.destroy(), redis?.destroy(), otlp?.close()]);
  });

  it('shares one trace from the POST through NATS to the worker’s attempt and appends', async () => {
    const env = { NATS_URL: nats.url, REDIS_URL: redis.url, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlp.url };
    worker = await spawnWorker({ ...env, OTEL_SERVICE_NAME: 'jobstream-worker', OTEL_BSP_SCHEDULE_DELAY: '100' });
    app = await startTestApp({ ...env, OTEL_SERVICE_NAME: 'jobstream-api' });
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const r = await app.api('/v1/jobs', {
      body: { agent: 'echo', input: { message: 'across two processes' } },
      headers: { traceparent: `00-${traceId}-1122334455667788-01` },
    });
    expect(r.status).toBe(201);
    // the client watches the job on the same trace: the SSE session joins it too
    const sse = await readAll(`${app.url}/v1/jobs/${r.body.id}/stream`, {
      headers: { traceparent: `00-${traceId}-1122334455667788-01` },
    });
    expect(sse.status).toBe(200);
    expect((await app.api(`/v1/jobs/${r.body.id}/wait?timeout_s=20`)).body.status).toBe('completed');
    await app.close(); // flushes the API's spans
    app = undefined;

    const spans = await waitFor(
      async () => {
        const mine = otlp.spans.filter((s) => s.traceId === traceId);
        const run = mine.find((s) => s.name === 'job.run');
        const doneAppend = mine.find((s) => s.attributes['jobstream.event_type'] === 'done');
        return run &&
          doneAppend &&
          mine.some((s) => s.name === 'job.dispatch') &&
          mine.some((s) => s.name === 'job.stream')
          ? mine
          : null;
      },
      { message: 'the spans of both processes', timeoutMs: 20_000, retryErrors: true },
    );
    const one = (name: string) => spans.find((s) => s.name === name)!;
    expect(one('HTTP POST /v1/jobs').service).toBe('jobstream-api');
    expect(one('HTTP POST /v1/jobs').parentSpanId).toBe('1122334455667788');
    expect(one('job.dispatch').service).toBe('jobstream-api');
    expect(one('job.run').service).toBe('jobstream-worker');
    expect(one('job.run').parentSpanId).toBe(one('job.dispatch').spanId);
    const workerAppends = spans
      .filter((s) => s.name === 'event.append' && s.parentSpanId === one('job.run').spanId)
      .sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    // three tokens: one to three token events (those that came while an append was in flight share one)
    const types = workerAppends.map((s) => s.attributes['jobstream.event_type']);
    expect(types[0]).toBe('status');
    expect(types.at(-1)).toBe('done');
    expect(types.slice(1, -1).length).toBeGreaterThanOrEqual(1);
    expect(types.slice(1, -1).every((t) => t === 'token')).toBe(true);
    const tree = renderTree(spans);
    if (process.env.TRACE_TREE_OUT) writeFileSync(process.env.TRACE_TREE_OUT, tree + '\n');
  }, 60_000);
});
