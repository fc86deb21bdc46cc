/**
 * The agent announcer of @jobstream/worker inside Nest: announces this worker's agents at start (a schema that does
 * not compile stops the start) and every third of AGENT_TTL_S; withdraws on shutdown, after the queue consumer has
 * stopped (WorkerService shuts down first).
 */
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { AgentCatalog } from '@jobstream/job-queue';
import { AgentAnnouncer as Announcer, newWorkerId, type AgentRegistry } from '@jobstream/worker/runtime';
import { WorkerConfig } from '../config/worker.config.js';
import { AGENT_CATALOG } from '../engine/engine.constants.js';
import { AGENT_REGISTRY } from './worker.constants.js';

/** Names this process in the catalogue's live-worker counts. */
export const WORKER_ID = newWorkerId();

@Injectable()
export class AgentAnnouncer implements OnModuleInit, OnApplicationShutdown {
  private readonly announcer: Announcer;

  constructor(
    @Inject(AGENT_CATALOG) catalog: AgentCatalog,
    @Inject(AGENT_REGISTRY) agents: AgentRegistry,
    config: WorkerConfig,
  ) {
    this.announcer = new Announcer(catalog, agents, {
      workerId: WORKER_ID,
      ttlMs: config.agentTtlMs,
      logger: new Logger('Agents'),
    });
  }

  async onModuleInit(): Promise<void> {
    await this.announcer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.announcer.stop();
  }
}
