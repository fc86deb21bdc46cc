/**
 * Dispatch over JetStream, and the cancel channel over core NATS.
 *
 * JobQueue design:
 * - A **work-queue stream** ({@link DISPATCH_STREAM}, subject {@link DISPATCH_SUBJECT}, file storage): a job id
 *   published while no worker runs waits in the stream; an acked message is removed.
 * - ONE **durable pull consumer** ({@link DISPATCH_CONSUMER}) shared by every worker of every process: explicit
 *   ack, `ack_wait` (default 30 s; a held job is kept alive by `working()` = in-progress ack), unlimited
 *   `max_deliver` (attempts are counted and bounded by the job runner, which sees `deliveries`).
 * - `consume` loops on `fetch({ max_messages: free slots, expires })`, so it never holds more than `concurrency`
 *   unacked jobs (nothing waits in a client-side buffer while its ack wait runs). `release(delay)` = NAK with delay;
 *   `deliveries` = the delivery count JetStream reports.
 * - `drain` stops asking for jobs, lets the pull request in flight end (at most `pullExpiresMs`; a job that still
 *   arrives is NAKed at once, so it is not stranded for an ack wait) and waits for the held handlers.
 *
 * nats-server 2.9 notes: pull requests with `expires` + `idle_heartbeat` (what `consumer.fetch` sends) work on
 * 2.9; a pull request cannot be cancelled server-side, hence the short `expires` and the NAK on drain. Named
 * consumers are looked up with `js.consumers.get(stream, name)` (only the ordered/`filterSubjects` form is a
 * problem on 2.9).
 *
 * JobControl: core pub/sub on `jobstream.control.cancel.<jobId>`; `onCancel` subscribes to the wildcard and
 * resolves after `flush`, when the server has the interest.
 */
import { context, propagation } from '@opentelemetry/api';
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  connect,
  headers as natsHeaders,
  type Consumer,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type NatsError,
} from 'nats';
import {
  CONTROL_CANCEL_PREFIX,
  DISPATCH_CONSUMER,
  DISPATCH_STREAM,
  DISPATCH_SUBJECT,
  cancelSubject,
} from '@jobstream/contracts';
import { streamDiff } from '@jobstream/event-log';
import {
  QueueUnavailableError,
  type CancelListener,
  type EnqueueOptions,
  type JobControl,
  type JobQueue,
  type LastEventHint,
  type QueueConsumer,
  type QueueHandler,
  type QueuedJob,
} from './job-queue.port.js';

export interface QueueLogger {
  warn(message: string): void;
  info?(message: string): void;
}

export interface NatsConnectOptions {
  /** NATS servers (the driver owns that connection and closes it). */
  servers?: string | string[];
  /** Or an existing connection (left open by `close`). */
  nc?: NatsConnection;
  logger?: QueueLogger;
}

export interface JetStreamJobQueueOptions extends NatsConnectOptions {
  /** How long a delivered job stays held without `working()` or ack (ms); default 30 000. */
  ackWaitMs?: number;
  /** How long one pull request waits for jobs (ms, ≥ 1000); bounds how long `drain` waits for it. Default 1000. */
  pullExpiresMs?: number;
  /** Most unacked jobs over all workers; default 10 000. */
  maxAckPending?: number;
  /** Replicas of the work-queue stream (1–5; JETSTREAM_REPLICAS); an existing stream is scaled to it. Default 1. */
  replicas?: number;
  /** Window in which a dispatch's message id is remembered (ms): a re-dispatch within it is a no-op. Default 10 min. */
  duplicateWindowMs?: number;
  /** Names, defaulting to the contract's (tests use their own to stay isolated). */
  stream?: string;
  subject?: string;
  consumer?: string;
}

/** Back-off before a job whose handler threw is delivered again. */
export const FAILED_HANDLER_RETRY_MS = 1_000;

const nanos = (ms: number) => Math.round(ms * 1_000_000);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isNotFound(err: unknown): boolean {
  const e = err as NatsError;
  return e?.code === '404' || e?.api_error?.code === 404;
}

async function connectOwned(opts: NatsConnectOptions, name: string): Promise<{ nc: NatsConnection; owns: boolean }> {
  if (opts.nc) return { nc: opts.nc, owns: false };
  if (!opts.servers) throw new TypeError(`${name} needs \`servers\` or \`nc\``);
  // noAsyncTraces: no stack trace captured per request (see src/engine/nats-engine.ts)
  const nc = await connect({
    servers: opts.servers,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    noAsyncTraces: true,
  });
  return { nc, owns: true };
}

export class JetStreamJobQueue implements JobQueue {
  private readonly js: JetStreamClient;
  private readonly stream: string;
  private readonly subject: string;
  private readonly consumerName: string;
  private readonly consumers = new Set<PullLoop>();
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly owns: boolean,
    private readonly opts: JetStreamJobQueueOptions,
  ) {
    this.js = nc.jetstream();
    this.stream = opts.stream ?? DISPATCH_STREAM;
    this.subject = opts.subject ?? DISPATCH_SUBJECT;
    this.consumerName = opts.consumer ?? DISPATCH_CONSUMER;
  }

  /** Connects (unless given `nc`) and creates or updates the work-queue stream and its durable consumer. */
  static async create(opts: JetStreamJobQueueOptions): Promise<JetStreamJobQueue> {
    const { nc, owns } = await connectOwned(opts, 'jobstream-job-queue');
    try {
      const q = new JetStreamJobQueue(nc, await nc.jetstreamManager(), owns, opts);
      await q.ensureStream();
      return q;
    } catch (err) {
      if (owns) await nc.close().catch(() => {});
      throw err;
    }
  }

  async enqueue(jobId: string, opts: EnqueueOptions = {}): Promise<void> {
    if (this.closed) throw new QueueUnavailableError('job queue is closed');
    // the active trace context travels in the message headers (W3C traceparent), so the worker continues the trace
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    const entries = Object.entries(carrier);
    const last = opts.lastEvent;
    if (last) entries.push([LAST_EVENT_HEADER, `${last.seq}.${last.pos}.${last.attempt}`]);
    let hdrs;
    if (entries.length) {
      hdrs = natsHeaders();
      for (const [k, v] of entries) hdrs.set(k, v);
    }
    try {
      await this.js.publish(this.subject, encoder.encode(jobId), {
        ...(hdrs ? { headers: hdrs } : {}),
        ...(opts.dedupId ? { msgID: opts.dedupId } : {}),
      });
    } catch (err) {
      throw new QueueUnavailableError(`job queue unavailable (dispatch): ${(err as Error).message}`, { cause: err });
    }
  }

  async consume(handler: QueueHandler, opts: { concurrency: number }): Promise<QueueConsumer> {
    if (this.closed) throw new Error('job queue is closed');
    await this.ensureConsumer();
    const loop = new PullLoop(
      this.js,
      this.stream,
      this.consumerName,
      handler,
      Math.max(1, Math.floor(opts.concurrency)),
      this.opts,
    );
    this.consumers.add(loop);
    loop.start();
    return {
      drain: async () => {
        await loop.drain();
        this.consumers.delete(loop);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.drain()));
    this.consumers.clear();
    if (this.owns && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  private async ensureStream(): Promise<void> {
    const want = {
      name: this.stream,
      subjects: [this.subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: this.opts.replicas ?? 1,
      duplicate_window: nanos(this.opts.duplicateWindowMs ?? 600_000),
    };
    try {
      const info = await this.jsm.streams.info(this.stream);
      // the settings this project owns that may change on a live stream (retention and storage cannot)
      const owned = {
        subjects: want.subjects,
        num_replicas: want.num_replicas,
        duplicate_window: want.duplicate_window,
      };
      const changes = streamDiff(info.config as unknown as Record<string, unknown>, owned);
      if (changes.length > 0) {
        await this.jsm.streams.update(this.stream, { ...info.config, ...owned });
        // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(logger) just below
        const say = this.opts.logger?.info ?? this.opts.logger?.warn;
        say?.call(this.opts.logger, `stream ${this.stream} reconciled with the configuration: ${changes.join(', ')}`);
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.jsm.streams.add(want);
      } catch (addErr) {
        // a concurrent process created it: fine if it exists now
        await this.jsm.streams.info(this.stream).catch(() => {
          throw addErr;
        });
      }
    }
  }

  private async ensureConsumer(): Promise<void> {
    const want: Partial<ConsumerConfig> = {
      durable_name: this.consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.opts.ackWaitMs ?? 30_000),
      max_deliver: -1,
      max_ack_pending: this.opts.maxAckPending ?? 10_000,
      filter_subject: this.subject,
    };
    try {
      const info = await this.jsm.consumers.info(this.stream, this.consumerName);
      if (info.config.ack_wait !== want.ack_wait || info.config.max_ack_pending !== want.max_ack_pending) {
        await this.jsm.consumers.update(this.stream, this.consumerName, {
          ack_wait: want.ack_wait,
          max_ack_pending: want.max_ack_pending,
        });
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // add is idempotent for an identical config, so two workers starting together converge
      await this.jsm.consumers.add(this.stream, want);
    }
  }
}

/** Header of a dispatch message carrying the job's newest event at dispatch (`<seq>.<pos>.<attempt>`). */
const LAST_EVENT_HEADER = 'Jobstream-Last-Event';

/** The dispatcher's hint of the job's newest event, when the message carries a well-formed one. */
function lastEventOf(m: JsMsg): LastEventHint | undefined {
  const v = m.headers?.get(LAST_EVENT_HEADER);
  const [seq, pos, attempt] = (v ?? '').split('.').map(Number);
  const ok = (n: number | undefined): n is number => Number.isSafeInteger(n) && n! > 0;
  return ok(seq) && ok(pos) && ok(attempt) ? { seq, pos, attempt } : undefined;
}

/** The W3C trace headers of a dispatch message (empty when the sender did not trace). */
function traceCarrier(m: JsMsg): Record<string, string> | undefined {
  const h = m.headers;
  if (!h) return undefined;
  const out: Record<string, string> = {};
  for (const k of ['traceparent', 'tracestate']) {
    const v = h.get(k);
    if (v) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** One `consume` call: pulls while it has free slots, runs the handler per job. */
class PullLoop {
  private held = 0;
  private draining = false;
  private readonly inflight = new Set<Promise<void>>();
  private wake: (() => void) | null = null;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly consumerName: string,
    private readonly handler: QueueHandler,
    private readonly concurrency: number,
    private readonly opts: JetStreamJobQueueOptions,
  ) {}

  start(): void {
    this.done = this.run();
  }

  async drain(): Promise<void> {
    this.draining = true;
    this.wake?.();
    await this.done;
    await Promise.allSettled([...this.inflight]);
  }

  private async run(): Promise<void> {
    const expires = Math.max(1_000, this.opts.pullExpiresMs ?? 1_000);
    let failures = 0;
    let consumer: Consumer | null = null;
    while (!this.draining) {
      const free = this.concurrency - this.held;
      if (free <= 0) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        continue;
      }
      try {
        consumer ??= await this.js.consumers.get(this.stream, this.consumerName);
        const batch = await consumer.fetch({ max_messages: free, expires });
        for await (const m of batch) {
          if (this.draining) {
            m.nak(); // hand it straight back instead of stranding it for an ack wait
            continue;
          }
          this.dispatch(m);
        }
        failures = 0;
      } catch (err) {
        // broker unreachable or the consumer is being recreated: back off and try again
        failures++;
        consumer = null;
        this.opts.logger?.warn(`dispatch pull failed (${failures}): ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * failures)));
      }
    }
  }

  private dispatch(m: JsMsg): void {
    this.held++;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      this.held--;
      this.wake?.();
      return true;
    };
    const job: QueuedJob = {
      jobId: decoder.decode(m.data),
      deliveries: m.info.redeliveryCount,
      traceContext: traceCarrier(m),
      lastEvent: lastEventOf(m),
      working: () => {
        if (!settled) m.working();
      },
      ack: async () => {
        if (settle()) await m.ackAck().catch(() => m.ack());
      },
      release: async (delayMs = 0) => {
        if (settle()) m.nak(delayMs > 0 ? delayMs : undefined);
      },
      abandon: () => {
        settle(); // no ack, no nak: the server already gave this message to the job's current holder
      },
    };
    const run = (async () => {
      try {
        await this.handler(job);
        // A handler that returns without ack or release has finished with the job.
        if (!settled) await job.ack().catch(() => {});
      } catch (err) {
        // A handler that throws did not finish: hand the job back for another try (the port's contract).
        this.opts.logger?.warn(`job handler failed for ${job.jobId}, handing it back: ${(err as Error).message}`);
        if (!settled) await job.release(FAILED_HANDLER_RETRY_MS).catch(() => {});
      }
    })();
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run));
  }
}

/** Cancel requests over core NATS. */
export class NatsJobControl implements JobControl {
  private readonly subs = new Set<{ unsubscribe(): void }>();
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly owns: boolean,
  ) {}

  static async create(opts: NatsConnectOptions): Promise<NatsJobControl> {
    const { nc, owns } = await connectOwned(opts, 'jobstream-job-control');
    return new NatsJobControl(nc, owns);
  }

  async requestCancel(jobId: string, reason: string): Promise<void> {
    this.nc.publish(cancelSubject(jobId), encoder.encode(JSON.stringify({ reason })));
    await this.nc.flush();
  }

  async onCancel(listener: CancelListener): Promise<() => void> {
    const prefix = `${CONTROL_CANCEL_PREFIX}.`;
    const sub = this.nc.subscribe(`${prefix}*`, {
      callback: (err, m) => {
        if (err) return;
        let reason = '';
        try {
          const r = (JSON.parse(decoder.decode(m.data)) as { reason?: unknown }).reason;
          reason = typeof r === 'string' ? r : '';
        } catch {
          /* a malformed body still cancels, without a reason */
        }
        try {
          listener(m.subject.slice(prefix.length), reason);
        } catch {
          /* the listener's failure is its own */
        }
      },
    });
    const handle = { unsubscribe: () => sub.unsubscribe() };
    this.subs.add(handle);
    await this.nc.flush();
    return () => {
      if (this.subs.delete(handle)) handle.unsubscribe();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs.clear();
    if (this.owns && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}
