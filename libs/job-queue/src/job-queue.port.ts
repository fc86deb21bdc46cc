/**
 * Dispatch of jobs to workers, and the control channel that reaches the worker running a job. The JobQueue contract
 * (checked by testing/job-queue.conformance.ts): docs/internals.md.
 */

export interface QueuedJob {
  readonly jobId: string;
  /** The agent and tenant the job was enqueued for. */
  readonly agent: string;
  readonly tenant: string;
  /** 1 on the first delivery; more when a previous holder vanished or released it. */
  readonly deliveries: number;
  /**
   * The W3C trace context (`traceparent`, `tracestate`) active when the job was enqueued, so the worker's spans
   * continue the trace that created the job. Empty when tracing is off.
   */
  readonly traceContext?: Record<string, string>;
  /**
   * The job's newest event when it was enqueued, as the dispatcher knew it ({@link EnqueueOptions.lastEvent}): a
   * hint for the runner's first append (the event log may skip looking it up). Absent when not given.
   */
  readonly lastEvent?: LastEventHint;
  /** Keeps the job held (in-progress ack); call at least every ack-wait / 2 while running. */
  working(): void;
  /** Finished with the job (it ran, or must not run): it is never delivered again. */
  ack(): Promise<void>;
  /** Hands the job back for another consumer (shutdown), after `delayMs`. */
  release(delayMs?: number): Promise<void>;
  /**
   * Forgets this delivery without acking or releasing it: it is stale (the job was delivered again and is held
   * elsewhere now), so settling it could only disturb the current holder.
   */
  abandon(): void;
}

export type QueueHandler = (job: QueuedJob) => Promise<void>;

export interface QueueConsumer {
  /** Stops taking jobs; resolves when the handlers of held jobs have settled. */
  drain(): Promise<void>;
}

/** A job's newest event by position (see the event log's `AppendInput.lastEvent`). */
export interface LastEventHint {
  seq: number;
  pos: number;
  attempt: number;
}

/** Where a job goes: its agent's queue, in its tenant's share. */
export interface DispatchTarget {
  agent: string;
  tenant: string;
}

export interface EnqueueOptions extends DispatchTarget {
  /** Stable id of this dispatch (e.g. `<jobId>:dispatch:<attempt>`): a retry with the same id is a no-op. */
  dedupId?: string;
  /** The job's newest event as the dispatcher appended it: handed to the runner as {@link QueuedJob.lastEvent}. */
  lastEvent?: LastEventHint;
}

/** The queue's broker cannot be reached or did not confirm the dispatch (maps to 503). */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface ConsumeOptions {
  /** Most jobs held at once. */
  concurrency: number;
  /** The agents this consumer runs: it receives no other agent's job. */
  agents: readonly string[];
}

export interface ClaimOptions {
  /** How long to wait for a job when none is waiting now (ms); 0 = answer at once. */
  waitMs?: number;
  /** Gives up the wait early (a client that went away); resolves null. */
  signal?: AbortSignal;
}

/**
 * Agent names usable in dispatch subjects and consumer names: letters, digits, `_` and `-`, at most 64 (the
 * catalogue refuses any other name at announce time).
 */
export const AGENT_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

export interface JobQueue {
  enqueue(jobId: string, opts: EnqueueOptions): Promise<void>;
  /** Runs `handler` for the jobs of `opts.agents`, at most `opts.concurrency` at once, tenants served fairly. */
  consume(handler: QueueHandler, opts: ConsumeOptions): Promise<QueueConsumer>;
  /**
   * Takes ONE job of `agents` (the same fair choice as a consumer's free slot), or null when none came within
   * `waitMs`. For callers that hold jobs on another's behalf (an API process leasing jobs to HTTP workers): it
   * holds no broker consumer or subscription per caller while waiting. The job is held as a consumer's is: keep it
   * with `working()`, settle it with ack/release/abandon.
   */
  claim(agents: readonly string[], opts?: ClaimOptions): Promise<QueuedJob | null>;
  close(): Promise<void>;
}

export type CancelListener = (jobId: string, reason: string) => void;

export interface JobControl {
  requestCancel(jobId: string, reason: string): Promise<void>;
  /** Resolves with the way out once listening is active. */
  onCancel(listener: CancelListener): Promise<() => void>;
  close(): Promise<void>;
}
