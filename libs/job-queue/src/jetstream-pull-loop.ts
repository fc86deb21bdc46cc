/** One `consume` call of the JetStream queue: fills its free slots fairly, runs the handler per job. */
import type { DispatchTarget, QueueHandler, QueuedJob } from './job-queue.port.js';
import { TenantRoundRobin } from './fair-picker.js';
import type { FairPull } from './jetstream-fair-pull.js';
import type { PulledMsg } from './no-wait-pull.js';
import { retryDelay, type RetrySchedule } from '@jobstream/nats';

/** A failed dispatch pull is tried again after 100 ms, doubling to 2 s. */
const PULL_RETRY: RetrySchedule = { firstMs: 100, maxMs: 2_000 };

/** Back-off before a job whose handler threw is delivered again. */
export const FAILED_HANDLER_RETRY_MS = 1_000;

/** A consumer loop or a claim waiting for jobs of `agents`; `dirty` = something was published since it looked. */
export interface Waiter {
  agents: ReadonlySet<string>;
  dirty: boolean;
  wake(): void;
}

/** What a loop needs of its queue. */
export interface PullLoopHost {
  readonly pollMs: number;
  readonly fair: FairPull;
  warn(message: string): void;
  watch(w: Waiter): () => void;
  sleep(ms: number, onWake: (wake: () => void) => void, signal?: AbortSignal): Promise<void>;
  held(m: PulledMsg, target: DispatchTarget, onSettle: () => void): QueuedJob & { isSettled(): boolean };
}

export class PullLoop {
  private held = 0;
  private draining = false;
  private readonly inflight = new Set<Promise<void>>();
  private readonly rr = new TenantRoundRobin();
  private wakeFn: (() => void) | null = null;
  private readonly waiter: Waiter;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly q: PullLoopHost,
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
    // the last pass took nothing, or just every job published since: a publish names the only subjects with new work
    let idle = false;
    const pass = { caughtUp: false };
    while (!this.draining) {
      const free = this.concurrency - this.held;
      if (free <= 0) {
        await this.q.sleep(60_000, (r) => (this.wakeFn = r));
        continue;
      }
      this.waiter.dirty = false;
      let got: number;
      try {
        got = await this.q.fair.pull(this.waiter.agents, free, this.rr, (m, t) => this.dispatch(m, t), idle, pass);
        failures = 0;
      } catch (err) {
        // broker unreachable or a consumer is being recreated: back off and try again
        failures++;
        this.q.warn(`dispatch pull failed (${failures}): ${(err as Error).message}`);
        await this.q.sleep(retryDelay(failures, PULL_RETRY), () => {});
        idle = false;
        continue;
      }
      idle = got === 0 || pass.caughtUp;
      if (idle && !this.waiter.dirty && !this.draining) await this.q.sleep(this.q.pollMs, (r) => (this.wakeFn = r));
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
