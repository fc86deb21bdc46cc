/**
 * The agent interface: what a worker runs for a job, and {@link defineAgent} to write one. The contract (one
 * terminal event, `ctx.signal`, `ctx.usage`, asking with `input_required` and continuing from `ctx.history`) is in
 * docs/agents.md and the package README.
 */
import type { AgentEvent, AgentEventOf, ConversationTurn, InputKind, JobEvent, Usage } from '@jobstream/contracts';
import { AGENT_NAME_RE } from '@jobstream/job-queue';

export interface AgentContext {
  jobId: string;
  /** 1-based attempt. */
  attempt: number;
  /** The job's input, already validated against the agent's schema. */
  input: Record<string, unknown>;
  signal: AbortSignal;
  /** Tokens so far in this attempt (restored when the job continues after an answer); the agent updates it. */
  usage: Usage;
  /**
   * The events of the current attempt already in the job's log, oldest first, when the job continues after an
   * answer (the last `input_received` is the answer that woke it up): at least everything the agent emitted and
   * every question and answer (status events may be left out). Empty on a fresh start.
   */
  history: readonly JobEvent[];
  /** A turn of a thread: its number, and the conversation before it (earlier turns in order). */
  turn?: number;
  conversation?: ConversationTurn[];
}

/** A question an agent asks; the runner completes it into the `input_required` event. */
export type AgentInputRequest = Omit<AgentEventOf<'input_required'>, 'request_id' | 'expires_at' | 'kind'> & {
  kind: InputKind;
  /** Unique within the job; default: generated. */
  request_id?: string;
};

/**
 * What an agent yields: an event, with questions as {@link AgentInputRequest}. (`input_received` is the platform's:
 * the runner drops it with an error log.)
 */
export type AgentOutput = AgentEvent | AgentInputRequest;

export interface Agent {
  readonly name: string;
  /** What the catalogue shows (`GET /v1/agents`); default empty. */
  readonly description?: string;
  /** JSON Schema (draft 2020-12) of the input, announced to the catalogue; the API validates creates with it. */
  readonly inputSchema?: Record<string, unknown>;
  /** Parses validated input for `run` (e.g. a zod schema applying defaults); default: the input as it is. */
  parseInput?(input: unknown): Record<string, unknown>;
  run(ctx: AgentContext): AsyncIterable<AgentOutput>;
}

/** What {@link defineAgent} takes: an agent's name, what the catalogue shows, its input schema, and `run`. */
export interface AgentDefinition<I extends Record<string, unknown> = Record<string, unknown>> {
  /** Letters, digits, `_` and `-` (it names the agent's dispatch subject). */
  name: string;
  description?: string;
  /** JSON Schema (draft 2020-12) of the input; the API refuses creates that do not match it. Default: any object. */
  inputSchema?: Record<string, unknown>;
  /** Parses the validated input for `run` (e.g. a zod schema applying defaults); default: the input as it is. */
  parseInput?(input: unknown): I;
  run(ctx: AgentContext & { input: I }): AsyncIterable<AgentOutput>;
}

/** An agent from its definition (see {@link AgentDefinition}); what `createWorker({ agents })` takes. */
export function defineAgent<I extends Record<string, unknown> = Record<string, unknown>>(
  def: AgentDefinition<I>,
): Agent {
  if (typeof def.name !== 'string' || !AGENT_NAME_RE.test(def.name))
    throw new TypeError(`defineAgent: name must be 1-64 letters, digits, "_" or "-", got ${JSON.stringify(def.name)}`);
  if (typeof def.run !== 'function') throw new TypeError(`defineAgent: agent "${def.name}" needs a run function`);
  const agent: Agent = {
    name: def.name,
    ...(def.description !== undefined ? { description: def.description } : {}),
    ...(def.inputSchema !== undefined ? { inputSchema: def.inputSchema } : {}),
    ...(def.parseInput ? { parseInput: (input: unknown) => def.parseInput!(input) } : {}),
    run: (ctx) => def.run(ctx as AgentContext & { input: I }),
  };
  return Object.freeze(agent);
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
