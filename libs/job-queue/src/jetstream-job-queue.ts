/**
 * Dispatch over JetStream: a work-queue stream with one subject and one shared durable pull consumer per
 * (agent, tenant), pulled tenant-fairly (jetstream-fair-pull.ts); the stream's set-up in dispatch-stream.ts, a
 * `consume` call's loop in jetstream-pull-loop.ts. Design: docs/NATS.md and docs/internals.md.
 */
import { context, propagation } from '@opentelemetry/api';
import { headers as natsHeaders, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { DISPATCH_CONSUMER, DISPATCH_STREAM, DISPATCH_SUBJECT, dispatchSubject } from '@jobstream/contracts';
import { ensureDispatchStream, LAST_EVENT_HEADER, lastEventOf, traceCarrier } from './dispatch-stream.js';
import { TenantRoundRobin } from './fair-picker.js';
import { FairPull } from './jetstream-fair-pull.js';
import { PullLoop, type PullLoopHost, type Waiter } from './jetstream-pull-loop.js';
import { settleOnce } from './settle-once.js';
import type { PulledMsg } from './no-wait-pull.js';
import {
  QueueUnavailableError,
  type ClaimOptions,
  type ConsumeOptions,
  type DispatchTarget,
  type EnqueueOptions,
  type JobQueue,
  type QueueConsumer,
  type QueueHandler,
  type QueuedJob,
} from './job-queue.port.js';
import { connectOwned, type NatsConnectOptions } from './nats-connect.js';

export type { NatsConnectOptions, QueueLogger } from './nats-connect.js';
export { NatsJobControl } from './nats-job-control.js';
export { FAILED_HANDLER_RETRY_MS } from './jetstream-pull-loop.js';

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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class JetStreamJobQueue implements JobQueue, PullLoopHost {
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
      await ensureDispatchStream(q.jsm, {
        stream: q.stream,
        subject: q.subject,
        replicas: opts.replicas ?? 1,
        duplicateWindowMs: opts.duplicateWindowMs ?? 600_000,
        logger: opts.logger,
      });
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
    const { settle, isSettled } = settleOnce(onSettle);
    return {
      jobId: decoder.decode(m.data),
      agent: target.agent,
      tenant: target.tenant,
      deliveries: m.deliveries,
      traceContext: traceCarrier(m),
      lastEvent: lastEventOf(m),
      isSettled,
      working: () => {
        if (!isSettled()) m.working();
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
}
