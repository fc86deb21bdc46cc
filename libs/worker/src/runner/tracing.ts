/** The `job.run` span of one delivery, under the trace that dispatched the job (a no-op unless tracing is on). */
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { QueuedJob } from '@jobstream/job-queue';

const TRACER_NAME = 'jobstream';

export function inJobSpan<T>(q: QueuedJob, fn: () => Promise<T>): Promise<T> {
  const carrier = q.traceContext;
  const parent =
    carrier && Object.keys(carrier).length ? propagation.extract(context.active(), carrier) : context.active();
  const attributes = { 'jobstream.job_id': q.jobId, 'jobstream.deliveries': q.deliveries };
  return trace
    .getTracer(TRACER_NAME)
    .startActiveSpan('job.run', { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
      try {
        return await fn();
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
        throw err;
      } finally {
        span.end();
      }
    });
}
