/**
 * Tracing through the real app (embedded engine) with an in-memory span exporter: a job's spans — the HTTP request,
 * job.create, event.append, job.dispatch, job.run (the worker's attempt) and the SSE session — share ONE trace,
 * the caller's W3C traceparent; log lines written inside a span carry its trace_id.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { startApp, type RunningApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config/config.js';
import { hashKey } from '../src/config/key-hash.js';
import { startTracing, type TracingHandle } from '../src/tracing/tracing.js';
import { readAll } from './support/sse-client.js';
import { waitFor } from './support/wait.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('tracing (in-memory exporter)', () => {
  let app: RunningApp;
  let tracing: TracingHandle | null;
  const exporter = new InMemorySpanExporter();
  const lines: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });

  beforeAll(async () => {
    const config = loadConfig({ HOST: '127.0.0.1', LOG_LEVEL: 'info' }, hashKey);
    tracing = await startTracing(config, 'jobstream-test', { exporter, simple: true });
    app = await startApp(config, { port: 0, logDestination: sink });
  });
  afterAll(async () => {
    await app?.close();
    await tracing?.shutdown();
  });

  it('puts one job on the caller’s trace, from the POST through dispatch and the worker to the SSE session', async () => {
    const res = await fetch(`${app.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
      body: JSON.stringify({ agent: 'echo', input: { message: 'one trace please' } }),
    });
    expect(res.status).toBe(201);
    const job = (await res.json()) as { id: string; stream_url: string };
    const s = await readAll(`${app.url}${job.stream_url}`, {
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    });
    expect(s.status).toBe(200);

    const spans = await waitFor(
      async () => {
        const mine = exporter.getFinishedSpans().filter((sp) => sp.spanContext().traceId === TRACE_ID);
        const names = new Set(mine.map((sp) => sp.name));
        return ['job.run', 'job.stream', 'HTTP GET /v1/jobs/:id/stream'].every((n) => names.has(n)) ? mine : null;
      },
      { retryErrors: true },
    );
    const byName = (n: string) => spans.filter((sp) => sp.name === n);
    const parentOf = (sp: ReadableSpan) => sp.parentSpanContext?.spanId;
    const idOf = (sp: ReadableSpan) => sp.spanContext().spanId;

    const post = byName('HTTP POST /v1/jobs')[0]!;
    expect(parentOf(post)).toBe(CALLER_SPAN);
    const create = byName('job.create')[0]!;
    expect(parentOf(create)).toBe(idOf(post));
    const dispatch = byName('job.dispatch')[0]!;
    expect(parentOf(dispatch)).toBe(idOf(create));
    const run = byName('job.run')[0]!;
    expect(parentOf(run)).toBe(idOf(dispatch));
    expect(run.attributes['jobstream.job_id']).toBe(job.id);
    // the queued status under job.create, every event of the attempt under job.run
    const appends = byName('event.append');
    expect(
      appends.filter((a) => parentOf(a) === idOf(create)).map((a) => a.attributes['jobstream.event_type']),
    ).toEqual(['status']);
    const underRun = appends.filter((a) => parentOf(a) === idOf(run)).map((a) => a.attributes['jobstream.event_type']);
    expect(underRun).toEqual(['status', 'token', 'token', 'token', 'done']);
    const stream = byName('job.stream')[0]!;
    expect(parentOf(stream)).toBe(idOf(byName('HTTP GET /v1/jobs/:id/stream')[0]!));
    expect(new Set(spans.map((sp) => sp.resource.attributes['service.name']))).toEqual(new Set(['jobstream-test']));

    // log lines written inside the job's spans carry its trace id
    const created = lines.find((l) => l.msg === 'job created' && l.job_id === job.id);
    expect(created).toMatchObject({ trace_id: TRACE_ID, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });
});
