/**
 * OpenTelemetry tracing. Off unless an exporter is configured by the standard OTEL_* variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_TRACES_EXPORTER=otlp|console`;
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` keeps it off). The OTLP/HTTP exporter reads its own
 * OTEL_EXPORTER_OTLP_* settings (headers, timeout …); `OTEL_SERVICE_NAME` names the service (default
 * `jobstream-api` / `jobstream-worker`).
 *
 * The instrumentation is always in place and uses the global OpenTelemetry API: without a registered provider
 * every span is the API's no-op span (no allocation of span data, no export) — the bench measures both.
 *
 * Spans (one trace per job, across processes):
 *   `HTTP <method> <route>` (server; W3C `traceparent` of the request is the parent)
 *   └ `job.create` → `event.append` (status queued), `job.dispatch` (its context travels in the NATS message
 *     headers / the memory queue entry)
 *       └ `job.run` (worker, one per delivery = attempt) → `event.append` per event
 *   `job.stream` (an SSE session, from open to close, under its HTTP span)
 */
import {
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { CommonConfig } from '../config/common.config.js';

export const TRACER_NAME = 'jobstream';

export const tracer = (): Tracer => trace.getTracer(TRACER_NAME);

export interface TracingHandle {
  /** Flushes the spans still buffered and unregisters the provider. */
  shutdown(): Promise<void>;
}

let active: { provider: NodeTracerProvider; users: number } | null = null;

/**
 * Registers a tracer provider for this process (W3C trace-context propagation, async-context propagation).
 * `exporter` overrides the OTEL_* choice (tests pass an in-memory exporter; `simple` exports each span at once).
 * Returns null when tracing is off. Several apps in one process (tests) share the first provider.
 */
export async function startTracing(
  config: Pick<CommonConfig, 'tracing'>,
  defaultService: string,
  opts: { exporter?: SpanExporter; simple?: boolean } = {},
): Promise<TracingHandle | null> {
  if (!opts.exporter && !config.tracing.enabled) return null;
  if (!active) {
    let exporter = opts.exporter;
    if (!exporter) {
      if (config.tracing.exporter === 'console') exporter = new ConsoleSpanExporter();
      else {
        // the exporter reads its other OTEL_EXPORTER_OTLP_* settings (headers, timeout, compression) itself
        const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
        exporter = new OTLPTraceExporter(config.tracing.tracesEndpoint ? { url: config.tracing.tracesEndpoint } : {});
      }
    }
    const processor: SpanProcessor = opts.simple ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.tracing.serviceName ?? defaultService }),
      spanProcessors: [processor],
    });
    provider.register();
    active = { provider, users: 0 };
  }
  const mine = active;
  mine.users++;
  let done = false;
  return {
    shutdown: async () => {
      if (done) return;
      done = true;
      await mine.provider.forceFlush().catch(() => {});
      if (--mine.users === 0 && active === mine) {
        active = null;
        await mine.provider.shutdown().catch(() => {});
        trace.disable();
        propagation.disable();
        context.disable();
      }
    },
  };
}

/** The active span's ids, for log lines (empty when nothing is traced). */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  if (!trace.isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/** A W3C carrier (`traceparent`, `tracestate`) of the active context, to send along with a message. */
export function injectContext(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

export function extractContext(carrier: Record<string, string | string[] | undefined> | undefined): Context {
  return carrier ? propagation.extract(context.active(), carrier) : context.active();
}

/**
 * Runs `fn` in a new active span; records an exception and an error status when it throws.
 *
 * `leaf`: nothing under `fn` starts spans or propagates the context (e.g. one event-log append), so a span that
 * records nothing (no tracer registered, or sampled out) is not made active: `fn` runs as is, without the context
 * switch and the extra async frame — the usual case, once per appended event in the worker.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  opts: { parent?: Context; kind?: SpanKind; leaf?: boolean } = {},
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const run = async (span: Span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  };
  if (opts.leaf) {
    const span = tracer().startSpan(name, { attributes, kind: opts.kind ?? SpanKind.INTERNAL }, parent);
    if (!span.isRecording()) {
      span.end();
      return fn(span);
    }
    return context.with(trace.setSpan(parent, span), run, undefined, span);
  }
  return tracer().startActiveSpan(name, { attributes, kind: opts.kind ?? SpanKind.INTERNAL }, parent, run);
}

/**
 * Method decorator: the method runs in a span named `name`. `attrs` derives attributes from the arguments;
 * `parent` a W3C carrier to continue (e.g. from a queue message).
 */
export function Traced<A extends unknown[]>(
  name: string,
  opts: {
    attrs?: (...args: A) => Attributes;
    parent?: (...args: A) => Record<string, string> | undefined;
    kind?: SpanKind;
  } = {},
): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as (...args: A) => Promise<unknown>;
    descriptor.value = function (this: unknown, ...args: A) {
      const carrier = opts.parent?.(...args);
      const parent = carrier && Object.keys(carrier).length ? extractContext(carrier) : undefined;
      return withSpan(name, opts.attrs?.(...args) ?? {}, () => original.apply(this, args), { parent, kind: opts.kind });
    };
    return descriptor;
  };
}

/** A span for a long-lived response (an SSE session): from now until the response closes. */
export function traceSession(
  res: { once(event: 'close', fn: () => void): unknown },
  name: string,
  attributes: Attributes,
): void {
  const span = tracer().startSpan(name, { attributes, kind: SpanKind.INTERNAL });
  if (!span.isRecording()) return;
  res.once('close', () => span.end());
}
