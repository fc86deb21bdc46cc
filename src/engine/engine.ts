/**
 * The engine: the four ports (event log, job store, job queue, job control) built from validated config in ONE
 * place. Embedded: in-memory drivers, no external service. NATS: JetStream event log, queue and control; Redis job
 * store when REDIS_URL is set (otherwise the memory store, for a single API process).
 */
import type { Logger } from '@nestjs/common';
import { MemoryEventLog } from '../../libs/event-log/src/index.js';
import { MemoryJobControl, MemoryJobQueue } from '../../libs/job-queue/src/index.js';
import { MemoryJobStore } from '../../libs/job-store/src/index.js';
import type { AppConfig } from '../config/config.js';
import type { Engine } from './engine.types.js';

export type { Engine } from './engine.types.js';

export async function createEngine(config: AppConfig, logger: Logger): Promise<Engine> {
  if (config.engine === 'embedded') return createEmbeddedEngine(config);
  const { createNatsEngine } = await import('./nats-engine.js');
  return createNatsEngine(config, logger);
}

export function createEmbeddedEngine(config: AppConfig): Engine {
  const eventLog = new MemoryEventLog({
    retentionMs: config.eventRetentionMs,
    maxEvents: config.embeddedMaxEvents,
    maxBytes: config.embeddedMaxBytes,
  });
  const jobStore = new MemoryJobStore({ retentionMs: config.jobRetentionMs, idempotencyTtlMs: config.idempotencyTtlMs });
  const jobQueue = new MemoryJobQueue();
  const jobControl = new MemoryJobControl();
  return {
    kind: 'embedded',
    eventLog,
    jobStore,
    jobQueue,
    jobControl,
    health: async () => ({ engine: { up: true, message: 'embedded' } }),
    close: async () => {
      await Promise.allSettled([jobQueue.close(), jobControl.close(), eventLog.close(), jobStore.close()]);
    },
  };
}
