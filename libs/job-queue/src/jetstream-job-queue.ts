/**
 * Dispatch over JetStream: per-agent, tenant-fair (design in ./jetstream-fair-pull.ts and docs/NATS.md).
 *
 * - A **work-queue stream** ({@link DISPATCH_STREAM}, file storage) with subjects `jobstream.dispatch` (the older
 *   single FIFO, still drained) and `jobstream.dispatch.>`: a job id is published on
 *   `jobstream.dispatch.<agent>.<tenant>`; it waits there while no worker serves the agent; an acked one is removed.
 * - One durable pull consumer per (agent, tenant) subject, shared by every process: explicit ack, `ack_wait`
 *   (default 30 s; a held job is kept alive by `working()` = in-progress ack), unlimited `max_deliver` (attempts
 *   are counted and bounded by the job runner, which sees `deliveries`).
 * - `consume` fills free slots with {@link FairPull.pull} (tenants round-robin, `no_wait` pulls), so it never holds
 *   more than `concurrency` unacked jobs. It sleeps while nothing is waiting for its agents and wakes on a core
 *   NATS interest in `jobstream.dispatch.>` (every publish is also a plain message; ONE subscription per queue
 *   handle, shared by all its consumers and claims), on a freed slot, or after `pullExpiresMs` (a missed wake).
 * - `claim` is the same pull for one job, with no broker consumer or subscription of its own while it waits.
 * - `release(delay)` = NAK with delay; `deliveries` = the delivery count JetStream reports; `drain` stops pulling
 *   (a pull in flight is answered at once; a job that still arrives is NAKed) and waits for the held handlers.
 */
import { context, propagation } from '@opentelemetry/api';
import { headers as natsHeaders, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { isJsNotFound, retryDelay, type RetrySchedule } from '@jobstream/nats';
import { DISPATCH_CONSUMER, DISPATCH_STREAM, DISPATCH_SUBJECT, dispatchSubject } from '@jobstream/contracts';
import { streamDiff } from '@jobstream/event-log';
import { TenantRoundRobin } from './fair-picker.js';
import { FairPull } from './jetstream-fair-pull.js';
import type { PulledMsg } from './no-wait-pull.js';
import {
  QueueUnavailableError,
  type ClaimOptions,
  type ConsumeOptions,
  type DispatchTarget,
  type EnqueueOptions,
  type JobQueue,
  type LastEventHint,
  type QueueConsumer,
  type QueueHandler,
  type QueuedJob,
} from './job-queue.port.js';
import { connectOwned, type NatsConnectOptions } from './nats-connect.js';

export type { NatsConnectOptions, QueueLogger } from './nats-connect.js';
export { NatsJobControl } from './nats-job-control.js';

export interface JetStreamJobQueueOptions extends NatsConnectOptions {
  /** How long a delivered job stays held without `working()` or ack (ms); default 30 000. */
  ackWaitMs?: number;
  /** How often an idle consumer looks for jobs without a wake-up (ms, ≥ 100); bounds a missed wake. Default 1000. */
  pullExpiresMs?: number;
  /** How long a dispatch subject whose jobs are all held elsewhere is skipped without a publish on it (ms). */
  emptyRecheckMs?: number;
  /** Most unacked jobs of one (agent, tenant) over all workers; default 10 000. */
  maxAckPending?: number;
  /** Replicas of the work-queue stream (1–5; JETSTREAM_REPLICAS); an existing stream is scaled to it. Default 1. */
  replicas?: number;
  /** Window in which a dispatch's message id is remembered (ms): a re-dispatch within it is a no-op. Default 10 min. */
  duplicateWindowMs?: number;
  /** The agent and tenant of a job found on the older single subject (see FairPull); without it they wait. */
  resolveLegacy?: (jobId: string) => Promise<DispatchTarget | null>;
  /** Names, defaulting to the contract's (tests use their own to stay isolated). */
  stream?: string;
  /** The base subject: the older single subject; jobs are published below it. */
  subject?: string;
  /** The older single subject's durable consumer. */
  consumer?: string;
}

/** Back-off before a job whose handler threw is delivered again. */
export const FAILED_HANDLER_RETRY_MS = 1_000;

/** A failed dispatch pull is tried again after 100 ms, doubling to 2 s. */
const PULL_RETRY: RetrySchedule = { firstMs: 100, maxMs: 2_000 };
const nanos = (ms: number) => Math.round(ms * 1_000_000);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isNotFound(err: unknown): boolean {
  return isJsNotFound(err);
}

/** A consumer loop or a claim waiting for jobs of `agents`; `dirty` = something was published since it looked. */
interface Waiter {
  agents: ReadonlySet<string>;
  dirty: boolean;
  wake(): void;
}

export class JetStreamJobQueue implements JobQueue {
  private readonly js: JetStreamClient;
  private readonly stream: string;
  private readonly subject: string;
  private readonly pull: FairPull;
  private readonly loops = new Set<PullLoop>();
  private readonly waiters = new Set<Waiter>();
  private readonly claimRr = new TenantRoundRobin();
  private subs: Subscription[] = [];
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly owns: boolean,
    private readonly opts: JetStreamJobQueueOptions,
  ) {
    this.js = jetstream(nc);
    this.stream = opts.stream ?? DISPATCH_STREAM;
    this.subject = opts.subject ?? DISPATCH_SUBJECT;
    this.pull = new FairPull(nc, this.js, jsm, {
      stream: this.stream,
      base: this.subject,
      legacyConsumer: opts.consumer ?? DISPATCH_CONSUMER,
      ackWaitMs: opts.ackWaitMs ?? 30_000,
      maxAckPending: opts.maxAckPending ?? 10_000,
      resolveLegacy: opts.resolveLegacy,
      ...(opts.emptyRecheckMs !== undefined ? { emptyRecheckMs: opts.emptyRecheckMs } : {}),
      warn: (m) => opts.logger?.warn(m),
    });
  }

  /** Connects (unless given `nc`) and creates or updates the work-queue stream. */
  static async create(opts: JetStreamJobQueueOptions): Promise<JetStreamJobQueue> {
    const { nc, owns } = await connectOwned(opts, 'jobstream-job-queue');
    try {
      const q = new JetStreamJobQueue(nc, await jetstreamManager(nc), owns, opts);
      await q.ensureStream();
      return q;
    } catch (err) {
      if (owns) await nc.close().catch(() => {});
      throw err;
    }
  }

  async enqueue(jobId: string, opts: EnqueueOptions): Promise<void> {
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
      await this.js.publish(dispatchSubject(opts.agent, opts.tenant, this.subject), encoder.encode(jobId), {
        ...(hdrs ? { headers: hdrs } : {}),
        ...(opts.dedupId ? { msgID: opts.dedupId } : {}),
      });
    } catch (err) {
      throw new QueueUnavailableError(`job queue unavailable (dispatch): ${(err as Error).message}`, { cause: err });
    }
  }

  async consume(handler: QueueHandler, opts: ConsumeOptions): Promise<QueueConsumer> {
    if (this.closed) throw new Error('job queue is closed');
    await this.listen();
    const loop = new PullLoop(this, handler, Math.max(1, Math.floor(opts.concurrency)), new Set(opts.agents));
    this.loops.add(loop);
    loop.start();
    return {
      drain: async () => {
        await loop.drain();
        this.loops.delete(loop);
      },
    };
  }

  async claim(agents: readonly string[], opts: ClaimOptions = {}): Promise<QueuedJob | null> {
    if (this.closed) throw new QueueUnavailableError('job queue is closed');
    await this.listen();
    const deadline = Date.now() + Math.max(0, opts.waitMs ?? 0);
    let wake = () => {};
    const w: Waiter = { agents: new Set(agents), dirty: false, wake: () => wake() };
    this.waiters.add(w);
    try {
      for (;;) {
        w.dirty = false;
        const got: QueuedJob[] = [];
        try {
          await this.pull.pull(w.agents, 1, this.claimRr, (m, t) => got.push(this.held(m, t, () => {})));
        } catch (err) {
          throw new QueueUnavailableError(`job queue unavailable (claim): ${(err as Error).message}`, { cause: err });
        }
        if (got[0]) return got[0];
        const left = deadline - Date.now();
        if (left <= 0 || opts.signal?.aborted || this.closed) return null;
        if (!w.dirty) await this.sleep(Math.min(left, this.pollMs), (r) => (wake = r), opts.signal);
      }
    } finally {
      this.waiters.delete(w);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters) w.wake();
    await Promise.all([...this.loops].map((c) => c.drain()));
    this.loops.clear();
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    if (this.owns && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  /** @internal the pull loops' view of the queue */
  get pollMs(): number {
    return Math.max(100, this.opts.pullExpiresMs ?? 1_000);
  }

  /** @internal */
  warn(message: string): void {
    this.opts.logger?.warn(message);
  }

  /** @internal */
  get fair(): FairPull {
    return this.pull;
  }

  /** @internal */
  watch(w: Waiter): () => void {
    this.waiters.add(w);
    return () => this.waiters.delete(w);
  }

  /** @internal sleeps up to `ms`, or until woken (through `onWake`) or aborted. */
  async sleep(ms: number, onWake: (wake: () => void) => void, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
      onWake(done);
    });
  }

  /** @internal a delivered message as the port's job; `onSettle` runs once, on ack, release or abandon. */
  held(m: PulledMsg, target: DispatchTarget, onSettle: () => void): QueuedJob & { isSettled(): boolean } {
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      onSettle();
      return true;
    };
    return {
      jobId: decoder.decode(m.data),
      agent: target.agent,
      tenant: target.tenant,
      deliveries: m.deliveries,
      traceContext: traceCarrier(m),
      lastEvent: lastEventOf(m),
      isSettled: () => settled,
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
  }

  /** One core subscription per handle: a publish below the base subject wakes the waiters of its agent. */
  private async listen(): Promise<void> {
    if (this.subs.length > 0) return;
    const onMsg = (subject: string) => {
      this.pull.published(subject);
      const agent = this.pull.agentOf(subject);
      for (const w of this.waiters) {
        if (agent !== null && !w.agents.has(agent)) continue;
        w.dirty = true;
        w.wake();
      }
    };
    for (const subject of [`${this.subject}.>`, this.subject])
      this.subs.push(
        this.nc.subscribe(subject, {
          callback: (err, m) => {
            if (!err) onMsg(m.subject);
          },
        }),
      );
    await this.nc.flush();
  }

  private async ensureStream(): Promise<void> {
    const want = {
      name: this.stream,
      subjects: [this.subject, `${this.subject}.>`],
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
}

/** Header of a dispatch message carrying the job's newest event at dispatch (`<seq>.<pos>.<attempt>`). */
const LAST_EVENT_HEADER = 'Jobstream-Last-Event';

/** The dispatcher's hint of the job's newest event, when the message carries a well-formed one. */
function lastEventOf(m: PulledMsg): LastEventHint | undefined {
  const v = m.headers?.get(LAST_EVENT_HEADER);
  const [seq, pos, attempt] = (v ?? '').split('.').map(Number);
  const ok = (n: number | undefined): n is number => Number.isSafeInteger(n) && n! > 0;
  return ok(seq) && ok(pos) && ok(attempt) ? { seq, pos, attempt } : undefined;
}

/** The W3C trace headers of a dispatch message (empty when the sender did not trace). */
function traceCarrier(m: PulledMsg): Record<string, string> | undefined {
  const h = m.headers;
  if (!h) return undefined;
  const out: Record<string, string> = {};
  for (const k of ['traceparent', 'tracestate']) {
    const v = h.get(k);
    if (v) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** One `consume` call: fills its free slots fairly, runs the handler per job. */
class PullLoop {
  private held = 0;
  private draining = false;
  private readonly inflight = new Set<Promise<void>>();
  private readonly rr = new TenantRoundRobin();
  private wakeFn: (() => void) | null = null;
  private readonly waiter: Waiter;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly q: JetStreamJobQueue,
    private readonly handler: QueueHandler,
    private readonly concurrency: number,
    agents: ReadonlySet<string>,
  ) {
    this.waiter = { agents, dirty: false, wake: () => this.wakeFn?.() };
  }

  start(): void {
    const unwatch = this.q.watch(this.waiter);
    this.done = this.run().finally(unwatch);
  }

  async drain(): Promise<void> {
    this.draining = true;
    this.wakeFn?.();
    await this.done;
    await Promise.allSettled([...this.inflight]);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.draining) {
      const free = this.concurrency - this.held;
      if (free <= 0) {
        await this.q.sleep(60_000, (r) => (this.wakeFn = r));
        continue;
      }
      this.waiter.dirty = false;
      let got: number;
      try {
        got = await this.q.fair.pull(this.waiter.agents, free, this.rr, (m, t) => this.dispatch(m, t));
        failures = 0;
      } catch (err) {
        // broker unreachable or a consumer is being recreated: back off and try again
        failures++;
        this.q.warn(`dispatch pull failed (${failures}): ${(err as Error).message}`);
        await this.q.sleep(retryDelay(failures, PULL_RETRY), () => {});
        continue;
      }
      if (got === 0 && !this.waiter.dirty && !this.draining)
        await this.q.sleep(this.q.pollMs, (r) => (this.wakeFn = r));
    }
  }

  private dispatch(m: PulledMsg, target: DispatchTarget): void {
    if (this.draining) {
      m.nak(); // hand it straight back instead of stranding it for an ack wait
      return;
    }
    this.held++;
    const job = this.q.held(m, target, () => {
      this.held--;
      this.wakeFn?.();
    });
    const run = (async () => {
      try {
        await this.handler(job);
        // A handler that returns without ack or release has finished with the job.
        if (!job.isSettled()) await job.ack().catch(() => {});
      } catch (err) {
        // A handler that throws did not finish: hand the job back for another try (the port's contract).
        this.q.warn(`job handler failed for ${job.jobId}, handing it back: ${(err as Error).message}`);
        if (!job.isSettled()) await job.release(FAILED_HANDLER_RETRY_MS).catch(() => {});
      }
    })();
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run));
  }
}
