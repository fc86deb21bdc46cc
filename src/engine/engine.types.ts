/** The engine: the four ports a jobstream process runs on, and their readiness. */
import type { EventLog } from '../../libs/event-log/src/index.js';
import type { JobControl, JobQueue } from '../../libs/job-queue/src/index.js';
import type { JobStore } from '../../libs/job-store/src/index.js';

export interface Engine {
  readonly kind: 'embedded' | 'nats';
  readonly eventLog: EventLog;
  readonly jobStore: JobStore;
  readonly jobQueue: JobQueue;
  readonly jobControl: JobControl;
  /** Readiness of each backing service. */
  health(): Promise<Record<string, { up: boolean; message?: string }>>;
  close(): Promise<void>;
}
