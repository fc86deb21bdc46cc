/**
 * Spans around the engine's ports without touching their drivers: `event.append` for every append and
 * `job.dispatch` (a producer span) for every enqueue — the drivers themselves carry the active context to the
 * worker (JetStream: message headers; memory: the queue entry). Proxies, so every other method (and any a driver
 * adds) passes straight through.
 */
import { SpanKind } from '@opentelemetry/api';
import type { Engine } from '../engine/engine.types.js';
import { withSpan } from './tracing.js';

function wrap<T extends object>(
  target: T,
  method: string,
  around: (fn: (...args: unknown[]) => Promise<unknown>, args: unknown[]) => Promise<unknown>,
): T {
  // the wrapped method is built once per method value (not on every access: one closure less per call)
  let wrappedOf: unknown;
  let wrapped: ((...args: unknown[]) => Promise<unknown>) | undefined;
  return new Proxy(target, {
    get(t, p) {
      const v = Reflect.get(t, p, t) as unknown;
      if (typeof v !== 'function') return v;
      if (p === method) {
        if (wrappedOf !== v || !wrapped) {
          const f = v as (...x: unknown[]) => Promise<unknown>;
          wrapped = (...args: unknown[]) => around((...a) => f.apply(t, a), args);
          wrappedOf = v;
        }
        return wrapped;
      }
      return (v as (...x: unknown[]) => unknown).bind(t);
    },
  });
}

export function traceEngine(engine: Engine): Engine {
  const eventLog = wrap(engine.eventLog, 'append', (fn, args) => {
    const [jobId, input] = args as [string, { event: { type: string }; attempt: number }];
    return withSpan(
      'event.append',
      { 'jobstream.job_id': jobId, 'jobstream.event_type': input.event.type, 'jobstream.attempt': input.attempt },
      () => fn(...args),
      { leaf: true }, // an append starts no spans and propagates nothing
    );
  });
  const jobQueue = wrap(engine.jobQueue, 'enqueue', (fn, args) =>
    withSpan(
      'job.dispatch',
      { 'jobstream.job_id': String(args[0]), 'messaging.system': engine.kind === 'nats' ? 'nats' : 'memory' },
      () => fn(...args),
      {
        kind: SpanKind.PRODUCER,
      },
    ),
  );
  return new Proxy(engine, {
    get(t, p) {
      if (p === 'eventLog') return eventLog;
      if (p === 'jobQueue') return jobQueue;
      const v = Reflect.get(t, p, t) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(t) : v;
    },
  });
}
