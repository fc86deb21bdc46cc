import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { loadConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { createEmbeddedEngine } from '../engine/engine.js';
import { MemoryJobQueue } from '@jobstream/job-queue';
import { traceEngine } from './traced-engine.js';
import { startTracing, traceFields, withSpan, type TracingHandle } from './tracing.js';

describe('traceEngine', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: TracingHandle | null;
  beforeAll(async () => {
    tracing = await startTracing(
      { tracing: { enabled: false, serviceName: 'unit', tracesEndpoint: undefined, exporter: undefined } },
      'unit',
      {
        exporter,
        simple: true,
      },
    );
  });
  afterAll(async () => {
    await tracing?.shutdown();
  });

  it('wraps appends and dispatch in spans, carries the context to the consumer, and passes every other method through', async () => {
    const engine = traceEngine(createEmbeddedEngine(loadConfig({}, hashKey)));
    const queue = engine.jobQueue as unknown as MemoryJobQueue;
    expect(queue.depth()).toBe(0); // a driver's own method, through the proxy
    const seen: { carrier?: Record<string, string>; fields: ReturnType<typeof traceFields> }[] = [];
    await withSpan('test.root', {}, async () => {
      await engine.eventLog.append('job_A', { event: { type: 'status', status: 'queued' }, attempt: 1 });
      await engine.jobQueue.enqueue('job_A', { agent: 'echo', tenant: 't' });
      expect(traceFields().trace_id).toMatch(/^[0-9a-f]{32}$/);
    });
    const consumer = await engine.jobQueue.consume(
      async (q) => {
        seen.push({ carrier: q.traceContext, fields: traceFields() });
        await q.ack();
      },
      { concurrency: 1, agents: ['echo'] },
    );
    await consumer.drain();
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'test.root')!;
    const dispatch = spans.find((s) => s.name === 'job.dispatch')!;
    expect(spans.find((s) => s.name === 'event.append')!.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(dispatch.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(seen[0]!.carrier!.traceparent).toBe(`00-${root.spanContext().traceId}-${dispatch.spanContext().spanId}-01`);
    await engine.close();
  });
});
