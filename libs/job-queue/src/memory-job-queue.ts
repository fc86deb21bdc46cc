/** The embedded engine's dispatch queue and control channel (in-process). */
import { context, propagation } from '@opentelemetry/api';
import {
  QueueUnavailableError,
  type CancelListener,
  type EnqueueOptions,
  type JobControl,
  type JobQueue,
  type QueueConsumer,
  type QueueHandler,
  type QueuedJob,
} from './job-queue.port.js';

/** How long a dispatch id is remembered (as JetStream's duplicate window), and the most ids held. */
const DEDUP_WINDOW_MS = 600_000;
const DEDUP_MAX = 100_000;

/** Back-off before a job whose handler threw is delivered again. */
const FAILED_HANDLER_RETRY_MS = 1_000;

interface Waiting {
  jobId: string;
  deliveries: number;
  /** Trace context of the enqueue (see QueuedJob.traceContext). */
  trace?: Record<string, string>;
  lastEvent?: EnqueueOptions['lastEvent'];
}

interface Consumer {
  handler: QueueHandler;
  concurrency: number;
  held: number;
  draining: boolean;
  inflight: Set<Promise<void>>;
}

export class MemoryJobQueue implements JobQueue {
  private readonly waiting: Waiting[] = [];
  private readonly consumers: Consumer[] = [];
  private closed = false;
  /** dispatch id → when it was enqueued (insertion order = time order). */
  private readonly seen = new Map<string, number>();

  async enqueue(jobId: string, opts: EnqueueOptions = {}): Promise<void> {
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
    this.waiting.push({ jobId, deliveries: 0, trace, ...(opts.lastEvent ? { lastEvent: { ...opts.lastEvent } } : {}) });
    this.pump();
  }

  async consume(handler: QueueHandler, opts: { concurrency: number }): Promise<QueueConsumer> {
    const c: Consumer = {
      handler,
      concurrency: Math.max(1, opts.concurrency),
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

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => Promise.allSettled([...c.inflight])));
  }

  /** Jobs waiting for a consumer. */
  depth(): number {
    return this.waiting.length;
  }

  private pump(): void {
    for (const c of this.consumers) {
      while (!c.draining && c.held < c.concurrency && this.waiting.length > 0) {
        const w = this.waiting.shift()!;
        this.deliver(c, { ...w, deliveries: w.deliveries + 1 });
      }
    }
  }

  private deliver(c: Consumer, w: Waiting): void {
    c.held++;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      c.held--;
      return true;
    };
    const job: QueuedJob = {
      jobId: w.jobId,
      deliveries: w.deliveries,
      traceContext: w.trace,
      ...(w.lastEvent ? { lastEvent: w.lastEvent } : {}),
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
          this.waiting.unshift(w);
          this.pump();
        };
        if (delayMs > 0) setTimeout(back, delayMs).unref();
        else queueMicrotask(back);
      },
    };
    const run = (async () => {
      try {
        await c.handler(job);
        // A handler that returns without ack or release has finished with the job.
        if (settle()) queueMicrotask(() => this.pump());
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
