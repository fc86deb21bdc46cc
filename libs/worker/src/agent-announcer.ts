/**
 * Announces a worker's agents to the catalogue: at start (a schema that does not compile stops the start), then
 * every third of the TTL so the worker keeps counting as live; withdrawn on stop, after the queue consumer has
 * stopped. A failed beat is logged and retried on the next one (the catalogue keeps the definitions, so creates go
 * on; only the live-worker count may drop to 0 for a while).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AgentCatalog, AgentDefinition } from '@jobstream/job-queue';
import { agentSchemas, silentLogger, type DomainLogger } from '@jobstream/job-domain';
import type { AgentRegistry } from './agent.js';

/** A fresh id naming one worker process in the catalogue's live-worker counts. */
export function newWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface AnnouncerOptions {
  workerId: string;
  /** How long an announcement keeps the worker live (AGENT_TTL_S). */
  ttlMs: number;
  logger?: DomainLogger;
}

export class AgentAnnouncer {
  private timer: NodeJS.Timeout | null = null;
  private defs: AgentDefinition[] = [];
  private readonly logger: DomainLogger;

  constructor(
    private readonly catalog: AgentCatalog,
    private readonly agents: AgentRegistry,
    private readonly opts: AnnouncerOptions,
  ) {
    this.logger = opts.logger ?? silentLogger;
  }

  /** Checks every definition (throws on a bad one: nothing is announced), announces, and keeps announcing. */
  async start(): Promise<void> {
    this.defs = this.agents.names().map((name) => {
      const a = this.agents.get(name)!;
      return { name, description: a.description ?? '', input_schema: a.inputSchema ?? { type: 'object' } };
    });
    for (const d of this.defs) agentSchemas.check(d);
    await this.beat(true);
    this.timer = setInterval(() => void this.beat(false), Math.max(1_000, Math.floor(this.opts.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops announcing and withdraws (call it once the worker takes no more jobs). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.catalog
      .withdraw(
        this.opts.workerId,
        this.defs.map((d) => d.name),
      )
      .catch((err: unknown) => {
        this.logger.warn({ msg: 'withdrawing from the agent catalogue failed; the entry expires', error: String(err) });
      });
  }

  private async beat(first: boolean): Promise<void> {
    const workerId = this.opts.workerId;
    try {
      await this.catalog.announce(workerId, this.defs, this.opts.ttlMs);
      if (first)
        this.logger.log({ msg: 'agents announced', worker_id: workerId, agents: this.defs.map((d) => d.name) });
    } catch (err) {
      this.logger.warn({ msg: 'announcing agents failed; retrying', worker_id: workerId, error: String(err) });
    }
  }
}
