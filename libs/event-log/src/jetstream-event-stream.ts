/**
 * The events stream's configuration and its set-up (create, or reconcile an existing stream with the
 * configuration), the driver's options, and how JetStream errors are classified. Design: docs/internals.md.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { isJsNotFound, jsApiError, natsErrorLabel } from '@jobstream/nats';
import { EVENTS_SUBJECT_PREFIX } from '@jobstream/contracts';
import { EventLogUnavailableError } from './event-log.port.js';
import type { EventPartition } from './partitions.js';
import { StoredEvent } from './stored-event.js';

/** Where stored events are republished for live delivery: `jobstream.live.<jobId>`. */
export const LIVE_SUBJECT_PREFIX = 'jobstream.live';
export const liveSubject = (jobId: string): string => `${LIVE_SUBJECT_PREFIX}.${jobId}`;

export interface EventLogLogger {
  warn(message: string): void;
  /** Informational lines (a stream reconciled to the configuration); falls back to `warn`. */
  info?(message: string): void;
}

export interface JetStreamEventLogOptions {
  /** NATS servers to connect to (the driver owns that connection and closes it). */
  servers?: string | string[];
  /** Or an existing connection (left open by `close`). */
  nc?: NatsConnection;
  /** How long events stay (ms): the stream's `max_age`. */
  retentionMs: number;
  /** Size in bytes of all the events streams (JETSTREAM_MAX_BYTES; discard new: a full stream refuses appends); default 1 GiB. */
  maxBytes?: number;
  /** Bytes below `maxBytes` kept for terminal events (see jetstream-capacity.ts); default 5 % of it. */
  reserveBytes?: number;
  /** How often the stream's size is read (ms); default 1000. */
  capacityPollMs?: number;
  /** Largest event in bytes; default 1 MiB. */
  maxMsgSize?: number;
  /** Window in which a `dedupId` is remembered (ms); default 2 min, at most the retention. */
  duplicateWindowMs?: number;
  /** Timeout of each JetStream request (ms); default 5000. */
  timeoutMs?: number;
  /** Jobs whose last event is cached; default 10 000. */
  cacheSize?: number;
  /** Stream name (default `JOBSTREAM_EVENTS`); the subjects stay the contract's. */
  stream?: string;
  /**
   * Event streams (JETSTREAM_PARTITIONS, 1–64; default 1): new jobs are spread over them by a hash of their id, and
   * `maxBytes` is shared evenly. Streams of partitions beyond it (N was lowered) stay readable until they empty.
   */
  partitions?: number;
  /** Replicas of the stream (1–5; JETSTREAM_REPLICAS); an existing stream is scaled to it at start. Default 1. */
  replicas?: number;
  /**
   * Read single events (last, first, short reads) from the stream leader (`STREAM.MSG.GET`) instead of any replica
   * (direct get): a replica that is catching up after a restart would answer with an old view of the job. Default:
   * on when `replicas` > 1.
   */
  leaderReads?: boolean;
  /** With partitions and replicas, step stream leaders down at start until they are on different nodes. Default on. */
  spreadLeaders?: boolean;
  logger?: EventLogLogger;
}

const decoder = new TextDecoder();

export function apiErrCode(err: unknown): number | undefined {
  return jsApiError(err)?.err_code;
}

/** The stream is at `max_bytes` (discard new): JetStream's "maximum bytes exceeded" (a store error, 10077). */
export function isStreamFull(err: unknown): boolean {
  const api = jsApiError(err);
  return api?.err_code === 10077 && /maximum (bytes|messages)/i.test(api.description ?? '');
}

/** JetStream API answers that are about the request itself, not about the service being unavailable now. */
const PERMANENT_API_ERRORS = new Set([
  10054, // message size exceeds the stream's max_msg_size
]);

/**
 * Connection trouble, and JetStream API answers other than the request's own fault (no leader during an
 * election, a cluster catching up, "JetStream not available"…) → {@link EventLogUnavailableError}.
 */
export function unavailable(err: unknown, what: string): unknown {
  if (err instanceof EventLogUnavailableError) return err;
  const api = apiErrCode(err);
  if (api !== undefined && PERMANENT_API_ERRORS.has(api)) return err;
  const code = natsErrorLabel(err);
  const msg = err instanceof Error ? err.message : String(err);
  return new EventLogUnavailableError(`event log unavailable (${what}): ${code ? `${code} ` : ''}${msg}`, {
    cause: err,
  });
}

/**
 * The stored bytes are the event's JSON exactly as appended: kept, so frames need not serialize it again, and parsed
 * lazily (seq, type and job id are read from the envelope's fixed prefix: see {@link StoredEvent}).
 */
export function parseStored(data: Uint8Array, pos: number): StoredEvent {
  return new StoredEvent(decoder.decode(data), pos);
}

/** The settings of `want` that `have` does not match, as `key: have → want` (for the log). */
export function streamDiff(have: Record<string, unknown>, want: Record<string, unknown>): string[] {
  const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  return Object.entries(want)
    .filter(([k, v]) => JSON.stringify(have[k]) !== JSON.stringify(v))
    .map(([k, v]) => `${k}: ${show(have[k])} → ${show(v)}`);
}

export type EventStreamConfig = Partial<StreamConfig> & { name: string; subjects: string[] };

/** The bytes of one partition's stream: `maxBytes` shared evenly by the partitions. */
export function partitionMaxBytes(opts: JetStreamEventLogOptions): number {
  return Math.floor((opts.maxBytes ?? 1024 ** 3) / (opts.partitions ?? 1));
}

/** The configuration of a partition's events stream for these options. */
export function eventStreamConfig(part: EventPartition, opts: JetStreamEventLogOptions): EventStreamConfig {
  const ms = (n: number) => Math.round(n * 1_000_000); // nanoseconds
  const retention = opts.retentionMs;
  // partition 0 keeps the original republish; the others map their two-token subjects onto the same live subjects
  const republish =
    part.index === 0
      ? { src: `${EVENTS_SUBJECT_PREFIX}.>`, dest: `${LIVE_SUBJECT_PREFIX}.>` }
      : { src: part.wildcard, dest: `${LIVE_SUBJECT_PREFIX}.{{wildcard(1)}}` };
  return {
    name: part.stream,
    subjects: [part.wildcard],
    storage: 'file' as StreamConfig['storage'],
    retention: 'limits' as StreamConfig['retention'],
    discard: 'new' as StreamConfig['discard'],
    max_age: ms(retention),
    max_bytes: partitionMaxBytes(opts),
    max_msg_size: opts.maxMsgSize ?? 1024 ** 2,
    duplicate_window: ms(Math.min(opts.duplicateWindowMs ?? 120_000, retention)),
    allow_direct: true,
    republish,
    num_replicas: opts.replicas ?? 1,
  };
}

/** Creates the stream, or updates it to `want` (idempotent; concurrent processes converge). */
export async function ensureEventStream(
  jsm: JetStreamManager,
  want: EventStreamConfig,
  logger?: EventLogLogger,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const info = await jsm.streams.info(want.name);
      const changes = streamDiff(info.config as unknown as Record<string, unknown>, want);
      if (changes.length > 0) {
        await jsm.streams.update(want.name, { ...info.config, ...want } as StreamConfig);
        // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(logger) just below
        const say = logger?.info ?? logger?.warn;
        say?.call(logger, `stream ${want.name} reconciled with the configuration: ${changes.join(', ')}`);
      }
      return;
    } catch (err) {
      if (!isJsNotFound(err) || attempt > 2) throw err;
    }
    try {
      await jsm.streams.add(want);
      return;
    } catch (err) {
      // another process created it meanwhile: go round and update it if needed
      if (attempt > 2) throw err;
    }
  }
}
