/**
 * Announces this worker's agents to the catalogue: at start (a schema that does not compile stops the start),
 * then every third of AGENT_TTL_S so the worker keeps counting as live; withdrawn on shutdown, after the queue
 * consumer has stopped. A failed beat is logged and retried on the next one (the catalogue keeps the definitions,
 * so creates go on; only the live-worker count may drop to 0 for a while).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { AgentCatalog, AgentDefinition } from '@jobstream/job-queue';
import { WorkerConfig } from '../config/worker.config.js';
import { AGENT_CATALOG } from '../engine/engine.constants.js';
import type { AgentRegistry } from './agents/agent.js';
import { agentSchemas } from '@jobstream/job-domain';
import { AGENT_REGISTRY } from './worker.constants.js';

/** Names this process in the catalogue's live-worker counts. */
export const WORKER_ID = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;

@Injectable()
export class AgentAnnouncer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Agents');
  private timer: NodeJS.Timeout | null = null;
  private defs: AgentDefinition[] = [];

  constructor(
    @Inject(AGENT_CATALOG) private readonly catalog: AgentCatalog,
    @Inject(AGENT_REGISTRY) private readonly agents: AgentRegistry,
    private readonly config: WorkerConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.defs = this.agents.names().map((name) => {
      const a = this.agents.get(name)!;
      return { name, description: a.description ?? '', input_schema: a.inputSchema ?? { type: 'object' } };
    });
    for (const d of this.defs) agentSchemas.check(d); // throws: this worker does not start with a bad definition
    await this.beat(true);
    this.timer = setInterval(() => void this.beat(false), Math.max(1_000, Math.floor(this.config.agentTtlMs / 3)));
    this.timer.unref();
  }

  /** Called by the worker service once it takes no more jobs. */
  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.catalog
      .withdraw(
        WORKER_ID,
        this.defs.map((d) => d.name),
      )
      .catch((err: unknown) => {
        this.logger.warn({ msg: 'withdrawing from the agent catalogue failed; the entry expires', error: String(err) });
      });
  }

  private async beat(first: boolean): Promise<void> {
    try {
      await this.catalog.announce(WORKER_ID, this.defs, this.config.agentTtlMs);
      if (first)
        this.logger.log({ msg: 'agents announced', worker_id: WORKER_ID, agents: this.defs.map((d) => d.name) });
    } catch (err) {
      this.logger.warn({ msg: 'announcing agents failed; retrying', worker_id: WORKER_ID, error: String(err) });
    }
  }
}
