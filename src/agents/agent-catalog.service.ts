/**
 * The API's view of the agent catalogue: what `GET /v1/agents` lists, and the check of every create (REST, NATS,
 * batch, threads, turns, rerun) against the agent's announced schema.
 *
 * - A snapshot of the catalogue is kept for {@link SNAPSHOT_MS}; a name missing from it is looked up at once (a
 *   worker that has just announced is seen by the next create). Nothing is cached before the first read, so an
 *   API process started while workers live (or after they announced and left) knows their agents at once: the
 *   definitions are in the catalogue, not in this process.
 * - While the catalogue cannot be read, creates are checked against the last snapshot (a stale one included).
 * - Schemas are compiled once per distinct schema ({@link agentSchemas}); an announced schema that does not compile
 *   (a worker bypassing the announcer's check) makes its agent refuse creates with `invalid_request`.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { AgentCatalog, AgentEntry } from '@jobstream/job-queue';
import { ApiError } from '../common/api-error.js';
import { AGENT_CATALOG } from '../engine/engine.constants.js';
import { AgentDefinitionError, agentSchemas, inputErrorMessage } from '@jobstream/job-domain';

export const SNAPSHOT_MS = 2_000;

@Injectable()
export class AgentCatalogService {
  private snapshot: { at: number; byName: Map<string, AgentEntry> } | null = null;
  private loading: Promise<Map<string, AgentEntry>> | null = null;

  constructor(@Inject(AGENT_CATALOG) private readonly catalog: AgentCatalog) {}

  /** Every announced agent, by name. */
  async list(): Promise<AgentEntry[]> {
    return [...(await this.current(true)).values()];
  }

  /** The agent, or `400 unknown_agent` when it was never announced. */
  async require(name: string): Promise<AgentEntry> {
    const known = (await this.current(false)).get(name) ?? (await this.lookup(name));
    if (!known)
      throw new ApiError(
        400,
        'unknown_agent',
        `unknown agent "${String(name).slice(0, 80)}": no worker has announced it`,
      );
    return known;
  }

  /** Checks a job's input against its agent's announced schema: `400 unknown_agent` / `400 invalid_request`. */
  async validateInput(name: string, input: unknown): Promise<void> {
    const agent = await this.require(name);
    let validate;
    try {
      validate = agentSchemas.compile(agent.input_schema, `agent "${agent.name}"`);
    } catch (err) {
      if (err instanceof AgentDefinitionError) throw ApiError.invalid(`${err.message}; no job can be created`);
      throw err;
    }
    if (!validate(input)) throw ApiError.invalid(inputErrorMessage(validate.errors));
  }

  /** True when no live worker serves `name` now (as of the snapshot). */
  async waitingForWorker(name: string): Promise<boolean> {
    return ((await this.current(false)).get(name)?.workers ?? 0) === 0;
  }

  private async lookup(name: string): Promise<AgentEntry | null> {
    const e = await this.catalog.get(name);
    if (e && this.snapshot) this.snapshot.byName.set(name, e);
    return e;
  }

  /** The snapshot, refreshed when older than {@link SNAPSHOT_MS} (or always, with `fresh`). */
  private async current(fresh: boolean): Promise<Map<string, AgentEntry>> {
    if (!fresh && this.snapshot && Date.now() - this.snapshot.at < SNAPSHOT_MS) return this.snapshot.byName;
    const loading = (this.loading ??= this.catalog
      .list()
      .then((items) => {
        const byName = new Map(items.map((e) => [e.name, e]));
        this.snapshot = { at: Date.now(), byName };
        return byName;
      })
      .finally(() => (this.loading = null)));
    if (fresh) return loading;
    // the catalogue unreachable (NATS down): the last snapshot still checks creates, whose records are durable
    // without NATS (the sweep dispatches them later); with none yet, the 503
    return loading.catch((err: unknown) => {
      if (this.snapshot) return this.snapshot.byName;
      throw err;
    });
  }
}
