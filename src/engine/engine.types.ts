/** The engine: the four ports a jobstream process runs on, and their readiness. */
import type { EventLog } from '../../libs/event-log/src/index.js';
import type { JobControl, JobQueue } from '../../libs/job-queue/src/index.js';
import type { JobStore } from '../../libs/job-store/src/index.js';
import type { ShareStore } from '../../libs/share-store/src/index.js';
import type { ThreadStore } from '../../libs/thread-store/src/index.js';
import type { JobEventFeed } from '../../libs/webhooks/src/index.js';

export interface Engine {
  readonly kind: 'embedded' | 'nats';
  readonly eventLog: EventLog;
  readonly jobStore: JobStore;
  readonly jobQueue: JobQueue;
  readonly jobControl: JobControl;
  /** v1.1: conversations and share links (same backing service as the job store). */
  readonly threadStore: ThreadStore;
  readonly shareStore: ShareStore;
  /** Terminal and `input_required` events of every job, for webhooks (observed in the log itself). */
  readonly jobEventFeed: JobEventFeed;
  /** Readiness of each backing service. */
  health(): Promise<Record<string, { up: boolean; message?: string }>>;
  close(): Promise<void>;
}
