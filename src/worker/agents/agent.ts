/**
 * The agent interface: what a worker runs for a job.
 *
 * `run` returns an async iterable of {@link AgentEvent}s. It must:
 * - end with exactly one terminal event (`done` or `error`) — or simply return when `signal` aborts (the runner
 *   then appends `cancelled` with `ctx.usage`);
 * - honor `ctx.signal` promptly (stop between tokens; pass it to any HTTP request it makes);
 * - keep `ctx.usage` current (tokens read and produced so far) so that a cancel or a failure reports it.
 * The runner validates every event where it is appended; a malformed one is refused and logged, never delivered.
 */
import type { AgentEvent, ConversationTurn, Usage } from '../../../libs/contracts/src/index.js';

export interface AgentContext {
  jobId: string;
  /** 1-based attempt. */
  attempt: number;
  /** The job's input, already validated against the agent's schema. */
  input: Record<string, unknown>;
  signal: AbortSignal;
  /** Tokens so far; the agent updates it as it goes. */
  usage: Usage;
  /** v1.1, a turn of a thread: its number, and the conversation before it (earlier turns in order). */
  turn?: number;
  history?: ConversationTurn[];
}

export interface Agent {
  readonly name: string;
  run(ctx: AgentContext): AsyncIterable<AgentEvent>;
}

/** Agents by name; the worker registers the ones it can run. */
export class AgentRegistry {
  private readonly agents = new Map<string, Agent>();

  constructor(agents: Agent[] = []) {
    for (const a of agents) this.register(a);
  }

  register(agent: Agent): this {
    this.agents.set(agent.name, agent);
    return this;
  }

  get(name: string): Agent | undefined {
    return this.agents.get(name);
  }

  names(): string[] {
    return [...this.agents.keys()];
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
