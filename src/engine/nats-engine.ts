/**
 * The production engine: one NATS connection (nats.js v3) shared by the JetStream event log, the JetStream work
 * queue, the core-NATS control channel, the agent catalogue (KV) and Nest's NATS transport (`engine.nats`); the
 * Redis job store when REDIS_URL is set (otherwise the in-memory store, which only suits a single API process and
 * says so loudly).
 */
import { Logger } from '@nestjs/common';
import { jetstreamManager } from '@nats-io/jetstream';
import { EventLogUnavailableError, JetStreamByteLog, JetStreamEventLog } from '@jobstream/event-log';
import { connectNats, redactUrl, type NatsConnection } from '@jobstream/nats';
import { MemoryDsStore } from '../ds/store/memory-ds-store.js';
import { RedisDsStore } from '../ds/store/redis-ds-store.js';
import type { DsStore } from '../ds/store/ds-store.port.js';
import { JetStreamJobQueue, KvAgentCatalog, NatsJobControl } from '@jobstream/job-queue';
import { MemoryJobStore, RedisJobStore, type JobStore } from '@jobstream/job-store';
import { MemoryShareStore, RedisShareStore, type ShareStore } from '@jobstream/share-store';
import { MemoryThreadStore, RedisThreadStore, type ThreadStore } from '@jobstream/thread-store';
import { MemoryStreamSlots, type StreamSlots } from '../quotas/stream-slots.js';
import { RedisStreamSlots } from '../quotas/redis-stream-slots.js';
import { JetStreamJobEventFeed } from '@jobstream/webhooks';
import type { CommonConfig } from '../config/common.config.js';
import { ThreadAdvancer, advancingThreads } from '@jobstream/job-domain';
import type { Engine } from './engine.types.js';
import type { LeaseStore } from '../worker-api/leases/lease-store.port.js';
import { MemoryLeaseStore } from '../worker-api/leases/memory-lease-store.js';
import { RedisLeaseStore } from '../worker-api/leases/redis-lease-store.js';

export { redactUrl };

export async function createNatsEngine(config: CommonConfig, logger: Logger): Promise<Engine> {
  const servers = config.natsUrl!.split(',');
  let nc: NatsConnection;
  try {
    // without a stack trace captured per request (see connectNats)
    nc = await connectNats({ servers, name: 'jobstream' });
  } catch (err) {
    throw new EventLogUnavailableError(`cannot connect to NATS at ${redactUrl(config.natsUrl!)}: ${String(err)}`, {
      cause: err,
    });
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') {
        logger.warn({ msg: `nats ${s.type}`, data: redactUrl(s.server) });
      } else if (s.type === 'error') {
        logger.warn({ msg: 'nats error', data: String(s.error) });
      }
    }
  })().catch(() => {});

  const warn = { warn: (message: string) => logger.warn(message) };
  const closers: (() => Promise<void>)[] = [];
  try {
    const replicas = config.jetstreamReplicas;
    // A short request timeout: an append to a stream leader that just died is retried (same dedup id) every ~2 s
    // instead of every 5 s, so writing resumes soon after JetStream elects the next leader.
    const eventLog = await JetStreamEventLog.create({
      nc,
      retentionMs: config.eventRetentionMs,
      maxBytes: config.jetstreamMaxBytes,
      partitions: config.jetstreamPartitions,
      replicas,
      timeoutMs: 2_000,
      logger: warn,
    });
    closers.push(() => eventLog.close());
    // a job left on the older single dispatch subject is moved to its agent's: the store names agent and tenant
    let storeForLegacy: JobStore | null = null;
    const jobQueue = await JetStreamJobQueue.create({
      nc,
      ackWaitMs: config.jobStallTimeoutMs,
      replicas,
      logger: warn,
      resolveLegacy: async (id) => (storeForLegacy ? await storeForLegacy.get(id) : null),
    });
    closers.push(() => jobQueue.close());
    const jobControl = await NatsJobControl.create({ nc, logger: warn });
    closers.push(() => jobControl.close());
    const dsLog = await JetStreamByteLog.create({ nc, replicas, timeoutMs: 2_000, maxBytes: config.dsMaxBytes });
    const storeOpts = {
      retentionMs: config.jobRetentionMs,
      logRetentionMs: config.eventRetentionMs,
      idempotencyTtlMs: config.idempotencyTtlMs,
    };
    let rawJobStore: JobStore;
    let threadStore: ThreadStore;
    let shareStore: ShareStore;
    let streamSlots: StreamSlots;
    let dsStore: DsStore;
    let workerLeases: LeaseStore;
    if (config.hasRedis) {
      const redisJobs = await RedisJobStore.create({
        url: config.redisUrl,
        sentinel: config.redisSentinel,
        replicaAck: config.redisReplicaAck,
        ...storeOpts,
      });
      rawJobStore = redisJobs;
      closers.push(() => rawJobStore.close());
      // Through Sentinel the thread store shares the job store's connection (which follows the primary); with a
      // plain URL it has its own.
      const threadOpts = { idempotencyTtlMs: config.idempotencyTtlMs, replicaAck: config.redisReplicaAck };
      const threads = config.redisSentinel
        ? await RedisThreadStore.create({ client: redisJobs.client, ...threadOpts })
        : await RedisThreadStore.create({ url: config.redisUrl, ...threadOpts });
      threadStore = threads;
      closers.push(() => threadStore.close());
      // shares ride on the thread store's connection
      shareStore = new RedisShareStore(threads.client);
      const slots = new RedisStreamSlots(threads.client);
      streamSlots = slots;
      closers.push(() => slots.close());
      // Durable Streams metadata rides on the job store's connection (which follows a Sentinel failover)
      dsStore = new RedisDsStore(redisJobs.client);
      // HTTP workers' leases too: every API process sees every lease
      workerLeases = new RedisLeaseStore(redisJobs.client);
    } else {
      logger.warn(
        'REDIS_URL (or REDIS_SENTINELS) is unset: job state is kept in this process only; run ONE API process, or set REDIS_URL',
      );
      rawJobStore = new MemoryJobStore(storeOpts);
      closers.push(() => rawJobStore.close());
      threadStore = new MemoryThreadStore({ idempotencyTtlMs: config.idempotencyTtlMs });
      shareStore = new MemoryShareStore();
      streamSlots = new MemoryStreamSlots();
      dsStore = new MemoryDsStore();
      workerLeases = new MemoryLeaseStore();
    }
    storeForLegacy = rawJobStore;
    const agentCatalog = await KvAgentCatalog.create({ nc, replicas, logger: warn });
    const advancer = new ThreadAdvancer(threadStore, rawJobStore, jobQueue, new Logger('Threads'));
    const jobStore = advancingThreads(rawJobStore, () => advancer, new Logger('Threads'));
    return {
      kind: 'nats',
      nats: nc,
      eventLog,
      jobStore,
      jobQueue,
      jobControl,
      threadStore,
      shareStore,
      agentCatalog,
      workerLeases,
      // a durable consumer, created only when the API's webhooks module starts it (never by a worker)
      streamSlots,
      jobEventFeed: new JetStreamJobEventFeed({
        nc,
        logger: warn,
        streams: eventLog.partitions().all.map((p) => ({ stream: p.stream, filter: p.wildcard })),
      }),
      durableStreams: { log: dsLog, store: dsStore },
      health: async () => {
        const out: Record<string, { up: boolean; message?: string }> = {};
        try {
          if (nc.isClosed()) throw new Error('connection closed');
          await nc.rtt();
          out.nats = { up: true };
        } catch (err) {
          out.nats = { up: false, message: String(err) };
        }
        try {
          const jsm = await jetstreamManager(nc, { timeout: 2_000 });
          await jsm.getAccountInfo();
          out.jetstream = { up: true };
        } catch (err) {
          out.jetstream = { up: false, message: String(err) };
        }
        try {
          await jobStore.ping();
          out.store = {
            up: true,
            message: config.redisSentinel ? 'redis (sentinel)' : config.redisUrl ? 'redis' : 'memory',
          };
        } catch (err) {
          out.store = { up: false, message: String(err) };
        }
        return out;
      },
      close: async () => {
        for (const c of closers.reverse()) await c().catch(() => {});
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => {});
    await nc.close().catch(() => {});
    throw err;
  }
}
