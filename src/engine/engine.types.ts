/** The engine: the four ports a jobstream process runs on, and their readiness. */
import type { ByteLog, EventLog } from '@jobstream/event-log';
import type { NatsConnection } from '@jobstream/nats';
import type { DsStore } from '../ds/store/ds-store.port.js';
import type { AgentCatalog, JobControl, JobQueue } from '@jobstream/job-queue';
import type { JobStore } from '@jobstream/job-store';
import type { ShareStore } from '@jobstream/share-store';
import type { ThreadStore } from '@jobstream/thread-store';
import type { JobEventFeed } from '@jobstream/webhooks';
import type { StreamSlots } from '../quotas/stream-slots.js';
import type { LeaseStore } from '../worker-api/leases/lease-store.port.js';

export interface Engine {
  readonly kind: 'embedded' | 'nats';
  readonly eventLog: EventLog;
  readonly jobStore: JobStore;
  readonly jobQueue: JobQueue;
  readonly jobControl: JobControl;
  /** Conversations and share links (same backing service as the job store). */
  readonly threadStore: ThreadStore;
  readonly shareStore: ShareStore;
  /** Which agents exist (announced by workers) and how many live workers serve each. */
  readonly agentCatalog: AgentCatalog;
  /** Leases of the HTTP worker protocol (same backing service as the job store). */
  readonly workerLeases: LeaseStore;
  /** Durable Streams (`/ds`): frames in the same backing log service, metadata in the job store's service. */
  readonly durableStreams: { log: ByteLog; store: DsStore };
  /** Terminal and `input_required` events of every job, for webhooks (observed in the log itself). */
  readonly jobEventFeed: JobEventFeed;
  /** Open streams per tenant over every API process (the streams quota; same backing service as the job store). */
  readonly streamSlots: StreamSlots;
  /** The process's one NATS connection (NATS engine only), shared with Nest's NATS transport. */
  readonly nats?: NatsConnection;
  /** Readiness of each backing service. */
  health(): Promise<Record<string, { up: boolean; message?: string }>>;
  close(): Promise<void>;
}
