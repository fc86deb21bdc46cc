/** The embedded engine's dispatch queue and control channel (in-process). */
import { context, propagation } from '@opentelemetry/api';
import { TenantRoundRobin } from './fair-picker.js';
import {
  QueueUnavailableError,
  type CancelListener,
  type ClaimOptions,
  type ConsumeOptions,
  type EnqueueOptions,
  type JobControl,
  type JobQueue,
  type QueueConsumer,
  type QueueHandler,
  type QueuedJob,
} from './job-queue.port.js';
import { settleOnce } from './settle-once.js';

/** How long a dispatch id is remembered (as JetStream's duplicate window), and the most ids held. */
const DEDUP_WINDOW_MS = 600_000;
const DEDUP_MAX = 100_000;

/** Back-off before a job whose handler threw is delivered again. */
const FAILED_HANDLER_RETRY_MS = 1_000;

interface Waiting {
  jobId: string;
  agent: string;
  tenant: string;
  deliveries: number;
  /** Enqueue order: FIFO within a tenant (a released job keeps its place). */
  order: number;
  /** Trace context of the enqueue (see QueuedJob.traceContext). */
  trace?: Record<string, string>;
  lastEvent?: EnqueueOptions['lastEvent'];
}

interface Consumer {
  handler: QueueHandler;
  concurrency: number;
  agents: ReadonlySet<string>;
  rr: TenantRoundRobin;
  held: number;
  draining: boolean;
  inflight: Set<Promise<void>>;
}

interface Claim {
  agents: ReadonlySet<string>;
  resolve: (job: QueuedJob | null) => void;
}

/** Waiting jobs by agent, then tenant (each list in enqueue order). */
class FairQueues {
  private readonly byAgent = new Map<string, Map<string, Waiting[]>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  put(w: Waiting): void {
    let tenants = this.byAgent.get(w.agent);
    if (!tenants) this.byAgent.set(w.agent, (tenants = new Map()));
    const list = tenants.get(w.tenant) ?? [];
    tenants.set(w.tenant, list);
    // a released job goes back to its place (before anything enqueued after it)
    let at = list.length;
    while (at > 0 && list[at - 1]!.order > w.order) at--;
    list.splice(at, 0, w);
    this.count++;
  }

  /** The next job for `agents`: the next tenant in `rr`'s order, its oldest job among those agents. */
  take(agents: ReadonlySet<string>, rr: TenantRoundRobin): Waiting | undefined {
    const tenants = new Set<string>();
    for (const a of agents) for (const t of this.byAgent.get(a)?.keys() ?? []) tenants.add(t);
    const [tenant] = rr.order(tenants);
    if (tenant === undefined) return undefined;
    let best: Waiting[] | undefined;
    for (const a of agents) {
      const list = this.byAgent.get(a)?.get(tenant);
      if (list?.length && (!best || list[0]!.order < best[0]!.order)) best = list;
    }
    const w = best!.shift()!;
    if (best!.length === 0) {
      const forAgent = this.byAgent.get(w.agent)!;
      forAgent.delete(tenant);
      if (forAgent.size === 0) this.byAgent.delete(w.agent);
    }
    this.count--;
    rr.served(tenant);
    return w;
  }
}

export class MemoryJobQueue implements JobQueue {
  private readonly waiting = new FairQueues();
  private readonly consumers: Consumer[] = [];
  private readonly claims: Claim[] = [];
  /** The round-robin of claims (one per process, as a consumer's). */
  private readonly claimRr = new TenantRoundRobin();
  private order = 0;
  private closed = false;
  /** dispatch id → when it was enqueued (insertion order = time order). */
  private readonly seen = new Map<string, number>();

  async enqueue(jobId: string, opts: EnqueueOptions): Promise<void> {
    if (this.closed) throw new QueueUnavailableError('job queue is closed');
    if (opts.dedupId !== undefined) {
      const now = Date.now();
      for (const [id, at] of this.seen) {
        if (at > now - DEDUP_WINDOW_MS && this.seen.size <= DEDUP_MAX) break;
        this.seen.delete(id);
      }
      if (this.seen.has(opts.dedupId)) return;
      this.seen.set(opts.dedupId, now);
    }
    const trace: Record<string, string> = {};
    propagation.inject(context.active(), trace);
    this.waiting.put({
      jobId,
      agent: opts.agent,
      tenant: opts.tenant,
      deliveries: 0,
      order: this.order++,
      trace,
      ...(opts.lastEvent ? { lastEvent: { ...opts.lastEvent } } : {}),
    });
    this.pump();
  }

  async consume(handler: QueueHandler, opts: ConsumeOptions): Promise<QueueConsumer> {
    const c: Consumer = {
      handler,
      concurrency: Math.max(1, opts.concurrency),
      agents: new Set(opts.agents),
      rr: new TenantRoundRobin(),
      held: 0,
      draining: false,
      inflight: new Set(),
    };
    this.consumers.push(c);
    this.pump();
    return {
      drain: async () => {
        c.draining = true;
        const at = this.consumers.indexOf(c);
        if (at >= 0) this.consumers.splice(at, 1);
        await Promise.allSettled([...c.inflight]);
      },
    };
  }

  async claim(agents: readonly string[], opts: ClaimOptions = {}): Promise<QueuedJob | null> {
    if (this.closed) throw new QueueUnavailableError('job queue is closed');
    const set = new Set(agents);
    const now = this.waiting.take(set, this.claimRr);
    if (now) return this.held({ ...now, deliveries: now.deliveries + 1 }, () => {});
    const waitMs = opts.waitMs ?? 0;
    if (waitMs <= 0 || opts.signal?.aborted) return null;
    return new Promise<QueuedJob | null>((resolve) => {
      const done = (job: QueuedJob | null) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', giveUp);
        const at = this.claims.indexOf(entry);
        if (at >= 0) this.claims.splice(at, 1);
        resolve(job);
      };
      const giveUp = () => done(null);
      const entry: Claim = { agents: set, resolve: done };
      const timer = setTimeout(giveUp, waitMs);
      opts.signal?.addEventListener('abort', giveUp, { once: true });
      this.claims.push(entry);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.claims]) c.resolve(null);
    await Promise.all([...this.consumers].map((c) => Promise.allSettled([...c.inflight])));
  }

  /** Jobs waiting for a consumer. */
  depth(): number {
    return this.waiting.size;
  }

  private pump(): void {
    for (const claim of [...this.claims]) {
      const w = this.waiting.take(claim.agents, this.claimRr);
      if (w) claim.resolve(this.held({ ...w, deliveries: w.deliveries + 1 }, () => {}));
    }
    for (const c of this.consumers) {
      while (!c.draining && c.held < c.concurrency) {
        const w = this.waiting.take(c.agents, c.rr);
        if (!w) break;
        this.deliver(c, { ...w, deliveries: w.deliveries + 1 });
      }
    }
  }

  /** The held job `w`; `onSettle` runs once, when it is acked, released or abandoned. */
  private held(w: Waiting, onSettle: () => void): QueuedJob & { settled(): boolean; settle(): boolean } {
    const { settle, isSettled } = settleOnce(onSettle);
    return {
      jobId: w.jobId,
      agent: w.agent,
      tenant: w.tenant,
      deliveries: w.deliveries,
      traceContext: w.trace,
      ...(w.lastEvent ? { lastEvent: w.lastEvent } : {}),
      settled: isSettled,
      settle,
      working: () => {},
      ack: async () => {
        if (settle()) queueMicrotask(() => this.pump());
      },
      abandon: () => {
        if (settle()) queueMicrotask(() => this.pump());
      },
      release: async (delayMs = 0) => {
        if (!settle()) return;
        const back = () => {
          this.waiting.put(w);
          this.pump();
        };
        if (delayMs > 0) setTimeout(back, delayMs).unref();
        else queueMicrotask(back);
      },
    };
  }

  private deliver(c: Consumer, w: Waiting): void {
    c.held++;
    const job = this.held(w, () => c.held--);
    const run = (async () => {
      try {
        await c.handler(job);
        // A handler that returns without ack or release has finished with the job.
        if (job.settle()) queueMicrotask(() => this.pump());
      } catch {
        // A handler that throws did not finish: the job is delivered again after a short back-off.
        await job.release(FAILED_HANDLER_RETRY_MS);
      }
    })();
    c.inflight.add(run);
    void run.finally(() => c.inflight.delete(run));
  }
}
export class MemoryJobControl implements JobControl {
  private readonly listeners = new Set<CancelListener>();

  async requestCancel(jobId: string, reason: string): Promise<void> {
    for (const l of this.listeners) {
      try {
        l(jobId, reason);
      } catch {
        /* one listener's failure does not stop the others */
      }
    }
  }

  async onCancel(listener: CancelListener): Promise<() => void> {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
