/**
 * The ports a worker runs on, built from a NATS URL and a Redis URL: one NATS connection shared by the JetStream
 * event log, the work queue, the control channel and the agent catalogue; the Redis job and thread stores (the API's
 * state, so a worker in another repository sees the same jobs). The thread store advances a thread when a job of it
 * ends here. Stream settings (retention, size, replicas) must be the API's: the log and the queue create or update
 * their streams with them.
 */
import { connectNats, redactUrl, type NatsConnection } from '@jobstream/nats';
import { EventLogUnavailableError, JetStreamEventLog, type EventLog } from '@jobstream/event-log';
import {
  JetStreamJobQueue,
  KvAgentCatalog,
  NatsJobControl,
  type AgentCatalog,
  type JobControl,
  type JobQueue,
} from '@jobstream/job-queue';
import { ThreadAdvancer, advancingThreads, type DomainLogger } from '@jobstream/job-domain';
import { RedisJobStore, type JobStore } from '@jobstream/job-store';
import { RedisThreadStore, type ThreadStore } from '@jobstream/thread-store';

/** What a worker needs; `close` closes what the worker opened (nothing of ports a host passes in). */
export interface WorkerPorts {
  store: JobStore;
  log: EventLog;
  queue: JobQueue;
  control: JobControl;
  catalog: AgentCatalog;
  /** A thread's turn gets the conversation so far from it; without it, turns run without their history. */
  threads?: ThreadStore;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** NATS servers, comma-separated (`nats://host:4222,nats://other:4222`). */
  natsUrl: string;
  redisUrl: string;
  /** The API's settings (EVENT_RETENTION_S, JOB_RETENTION_S, IDEMPOTENCY_TTL_S, JETSTREAM_*, JOB_STALL_TIMEOUT_MS). */
  eventRetentionMs: number;
  jobRetentionMs: number;
  idempotencyTtlMs: number;
  jetstreamMaxBytes: number;
  replicas: number;
  stallTimeoutMs: number;
  logger: DomainLogger;
}

export async function connectPorts(o: ConnectOptions): Promise<WorkerPorts> {
  let nc: NatsConnection;
  try {
    nc = await connectNats({ servers: o.natsUrl, name: 'jobstream-worker' });
  } catch (err) {
    throw new EventLogUnavailableError(`cannot connect to NATS at ${redactUrl(o.natsUrl)}: ${String(err)}`, {
      cause: err,
    });
  }
  const warn = { warn: (message: string) => o.logger.warn(message) };
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await nc.drain().catch(() => nc.close());
  };
  try {
    const log = await JetStreamEventLog.create({
      nc,
      retentionMs: o.eventRetentionMs,
      maxBytes: o.jetstreamMaxBytes,
      replicas: o.replicas,
      timeoutMs: 2_000,
      logger: warn,
    });
    closers.push(() => log.close());
    const queue = await JetStreamJobQueue.create({
      nc,
      ackWaitMs: o.stallTimeoutMs,
      replicas: o.replicas,
      logger: warn,
    });
    closers.push(() => queue.close());
    const control = await NatsJobControl.create({ nc, logger: warn });
    closers.push(() => control.close());
    const catalog = await KvAgentCatalog.create({ nc, replicas: o.replicas, logger: warn });
    const raw = await RedisJobStore.create({
      url: o.redisUrl,
      retentionMs: o.jobRetentionMs,
      logRetentionMs: o.eventRetentionMs,
      idempotencyTtlMs: o.idempotencyTtlMs,
    });
    closers.push(() => raw.close());
    const threads = await RedisThreadStore.create({ url: o.redisUrl, idempotencyTtlMs: o.idempotencyTtlMs });
    closers.push(() => threads.close());
    const advancer = new ThreadAdvancer(threads, raw, queue, o.logger);
    const store = advancingThreads(raw, () => advancer, o.logger);
    return { store, log, queue, control, catalog, threads, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
