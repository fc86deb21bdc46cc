/**
 * The agent catalogue port: which agents exist (their announced definitions) and how many live workers serve each.
 * Its contract (checked by testing/agent-catalog.conformance.ts): docs/internals.md.
 */

export interface AgentDefinition {
  /** Letters, digits, `_` and `-`, at most 64 (AGENT_NAME_RE). */
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the job input. */
  input_schema: Record<string, unknown>;
}

export interface AgentEntry extends AgentDefinition {
  /** Distinct worker ids announcing this agent within their TTL. */
  workers: number;
  /** When the definition was last announced (ISO 8601). */
  announced_at: string;
}

export class CatalogUnavailableError extends Error {
  override readonly name = 'CatalogUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface AgentCatalog {
  announce(workerId: string, agents: readonly AgentDefinition[], ttlMs: number): Promise<void>;
  withdraw(workerId: string, names: readonly string[]): Promise<void>;
  /** One agent, or null when never announced (or forgotten). */
  get(name: string): Promise<AgentEntry | null>;
  /** Every announced agent, by name. */
  list(): Promise<AgentEntry[]>;
  /** Removes a definition (administration and tests). */
  forget(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Most agents one announce may carry, and the largest definition (JSON bytes). */
export const CATALOG_LIMITS = { agentsPerAnnounce: 100, definitionBytes: 256 * 1024, descriptionChars: 4096 } as const;
