/**
 * The dispatch work-queue stream's set-up, and the headers its messages carry besides the job id (the dispatcher's
 * hint of the job's newest event, W3C trace context).
 */
import { RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { isJsNotFound } from '@jobstream/nats';
import { streamDiff } from '@jobstream/event-log';
import type { LastEventHint } from './job-queue.port.js';
import type { QueueLogger } from './nats-connect.js';
import type { PulledMsg } from './no-wait-pull.js';

const nanos = (ms: number) => Math.round(ms * 1_000_000);

export interface DispatchStreamOptions {
  stream: string;
  /** The base subject (the older single subject); jobs are published below it. */
  subject: string;
  replicas: number;
  duplicateWindowMs: number;
  logger?: QueueLogger;
}

/** Creates the work-queue stream, or reconciles the settings this project owns on an existing one. */
export async function ensureDispatchStream(jsm: JetStreamManager, o: DispatchStreamOptions): Promise<void> {
  const want = {
    name: o.stream,
    subjects: [o.subject, `${o.subject}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: o.replicas,
    duplicate_window: nanos(o.duplicateWindowMs),
  };
  try {
    const info = await jsm.streams.info(o.stream);
    // the settings this project owns that may change on a live stream (retention and storage cannot)
    const owned = {
      subjects: want.subjects,
      num_replicas: want.num_replicas,
      duplicate_window: want.duplicate_window,
    };
    const changes = streamDiff(info.config as unknown as Record<string, unknown>, owned);
    if (changes.length > 0) {
      await jsm.streams.update(o.stream, { ...info.config, ...owned });
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(logger) just below
      const say = o.logger?.info ?? o.logger?.warn;
      say?.call(o.logger, `stream ${o.stream} reconciled with the configuration: ${changes.join(', ')}`);
    }
  } catch (err) {
    if (!isJsNotFound(err)) throw err;
    try {
      await jsm.streams.add(want);
    } catch (addErr) {
      // a concurrent process created it: fine if it exists now
      await jsm.streams.info(o.stream).catch(() => {
        throw addErr;
      });
    }
  }
}

/** Header of a dispatch message carrying the job's newest event at dispatch (`<seq>.<pos>.<attempt>`). */
export const LAST_EVENT_HEADER = 'Jobstream-Last-Event';

/** The dispatcher's hint of the job's newest event, when the message carries a well-formed one. */
export function lastEventOf(m: PulledMsg): LastEventHint | undefined {
  const v = m.headers?.get(LAST_EVENT_HEADER);
  const [seq, pos, attempt] = (v ?? '').split('.').map(Number);
  const ok = (n: number | undefined): n is number => Number.isSafeInteger(n) && n! > 0;
  return ok(seq) && ok(pos) && ok(attempt) ? { seq, pos, attempt } : undefined;
}

/** The W3C trace headers of a dispatch message (empty when the sender did not trace). */
export function traceCarrier(m: PulledMsg): Record<string, string> | undefined {
  const h = m.headers;
  if (!h) return undefined;
  const out: Record<string, string> = {};
  for (const k of ['traceparent', 'tracestate']) {
    const v = h.get(k);
    if (v) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}
