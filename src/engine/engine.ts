/**
 * The engine: the four ports (event log, job store, job queue, job control) built from validated config in ONE
 * place. Embedded: in-memory drivers, no external service. NATS: JetStream event log, queue and control; Redis job
 * store when REDIS_URL is set (otherwise the memory store, for a single API process).
 */
import { Logger } from '@nestjs/common';
import { MemoryAgentCatalog, MemoryJobControl, MemoryJobQueue } from '@jobstream/job-queue';
import { MemoryJobStore } from '@jobstream/job-store';
import { MemoryShareStore } from '@jobstream/share-store';
import { MemoryThreadStore } from '@jobstream/thread-store';
import { ThreadAdvancer, advancingThreads } from '@jobstream/job-domain';
import { ObservedMemoryEventLog } from '@jobstream/webhooks';
import { MemoryByteLog } from '@jobstream/event-log';
import { MemoryDsStore } from '../ds/store/memory-ds-store.js';
import type { CommonConfig } from '../config/common.config.js';
import { traceEngine } from '../tracing/traced-engine.js';
import type { Engine } from './engine.types.js';
import { MemoryStreamSlots } from '../quotas/stream-slots.js';
import { MemoryLeaseStore } from '../worker-api/leases/memory-lease-store.js';

export type { Engine } from './engine.types.js';

export async function createEngine(config: CommonConfig, logger: Logger): Promise<Engine> {
  // spans around appends and dispatch (no-ops unless tracing is on)
  if (config.engine === 'embedded') return traceEngine(createEmbeddedEngine(config));
  const { createNatsEngine } = await import('./nats-engine.js');
  return traceEngine(await createNatsEngine(config, logger));
}

export function createEmbeddedEngine(config: CommonConfig): Engine {
  // the memory log with a tap: it is also the webhooks' job event feed
  const eventLog = new ObservedMemoryEventLog({
    retentionMs: config.eventRetentionMs,
    maxEvents: config.embeddedMaxEvents,
    maxBytes: config.embeddedMaxBytes,
  });
  const rawJobStore = new MemoryJobStore({
    retentionMs: config.jobRetentionMs,
    logRetentionMs: config.eventRetentionMs,
    idempotencyTtlMs: config.idempotencyTtlMs,
  });
  const jobQueue = new MemoryJobQueue();
  const threadStore = new MemoryThreadStore({ idempotencyTtlMs: config.idempotencyTtlMs });
  const shareStore = new MemoryShareStore();
  const advancer = new ThreadAdvancer(threadStore, rawJobStore, jobQueue, new Logger('Threads'));
  const jobStore = advancingThreads(rawJobStore, () => advancer, new Logger('Threads'));
  const jobControl = new MemoryJobControl();
  return {
    kind: 'embedded',
    eventLog,
    jobStore,
    jobQueue,
    jobControl,
    threadStore,
    shareStore,
    agentCatalog: new MemoryAgentCatalog(),
    workerLeases: new MemoryLeaseStore(),
    jobEventFeed: eventLog,
    streamSlots: new MemoryStreamSlots(),
    durableStreams: { log: new MemoryByteLog(), store: new MemoryDsStore() },
    health: async () => ({ engine: { up: true, message: 'embedded' } }),
    close: async () => {
      await Promise.allSettled([
        jobQueue.close(),
        jobControl.close(),
        eventLog.close(),
        jobStore.close(),
        threadStore.close(),
        shareStore.close(),
      ]);
    },
  };
}
