/**
 * Configuration of an agent worker: the common settings plus the worker's own (concurrency, attempts, shutdown
 * grace, the per-job event cap, question deadlines, the `openai` agent's provider). Read by the worker app
 * (`src/worker/main.ts`); the API's config extends it (the API runs a worker in-process on the embedded engine).
 * API-only variables (API_KEYS, PORT, CORS_ORIGINS …) are neither read nor validated here: a worker serves no HTTP.
 */
import { z } from 'zod';
import { commonEnvShape, commonValues, CommonConfig, type ConfigValues } from './common.config.js';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_JOB_BYTES, MIN_EVENT_BYTES } from '@jobstream/job-domain';
import { ConfigError, bool, int, loadOrExit, parseEnv, url, type RawEnv } from './env.js';

export const workerEnvShape = {
  WORKER_CONCURRENCY: int('WORKER_CONCURRENCY', 1, 10_000, 16),
  MAX_ATTEMPTS: int('MAX_ATTEMPTS', 1, 100, 3),
  WORKER_SHUTDOWN_GRACE_MS: int('WORKER_SHUTDOWN_GRACE_MS', 0, 600_000, 5_000),
  MAX_EVENTS_PER_JOB: int('MAX_EVENTS_PER_JOB', 10, 1_000_000_000, 1_100_000),
  MAX_EVENT_BYTES: int('MAX_EVENT_BYTES', MIN_EVENT_BYTES, 1_000_000, DEFAULT_MAX_EVENT_BYTES),
  COALESCE_TEXT_EVENTS: bool('COALESCE_TEXT_EVENTS', true),
  MAX_JOB_BYTES: int('MAX_JOB_BYTES', 64 * 1024, 1024 ** 4, DEFAULT_MAX_JOB_BYTES),
  // below EVENT_RETENTION_S's default (86,400): a job that waited the whole time still finds its log to go on from
  INPUT_TIMEOUT_S: int('INPUT_TIMEOUT_S', 1, 365 * 86_400, 82_800),
  AGENT_TTL_S: int('AGENT_TTL_S', 3, 300, 15),
  WORKER_AGENTS: z
    .string()
    .regex(/^\s*[A-Za-z0-9_-]{1,64}(\s*,\s*[A-Za-z0-9_-]{1,64})*\s*$/, 'a comma-separated list of agent names')
    .optional(),
  OPENAI_BASE_URL: url('OPENAI_BASE_URL', ['https', 'http']),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().optional(),
  OPENAI_TIMEOUT_MS: int('OPENAI_TIMEOUT_MS', 1_000, 3_600_000, 300_000),
};

export class WorkerConfig extends CommonConfig {
  readonly workerConcurrency!: number;
  readonly maxAttempts!: number;
  /** On SIGTERM, how long a worker lets its running jobs finish before handing the rest back to the queue. */
  readonly workerShutdownGraceMs!: number;
  /** A job reaching this many events ends with `error` `too_many_events` (both engines). */
  readonly maxEventsPerJob!: number;
  /** One event's JSON at most (longer token/thinking texts are split; other events end the job `event_too_large`). */
  readonly maxEventBytes!: number;
  /** A job's events together at most (`too_many_bytes`). */
  readonly maxJobBytes!: number;
  /** Merge the token/thinking outputs that arrive while an append is in flight (runner), and a batch's (HTTP workers). */
  readonly coalesceTextEvents!: boolean;
  /** How long a job's question waits for an answer before the job ends with `input_timeout` (INPUT_TIMEOUT_S). */
  readonly inputTimeoutMs!: number;
  /** A worker's announce of its agents counts for this long; it re-announces every third of it (AGENT_TTL_S). */
  readonly agentTtlMs!: number;
  /** The built-in agents this worker serves (WORKER_AGENTS); null = all it can run. */
  readonly workerAgents!: string[] | null;
  /** The `openai` agent's provider (OpenAI-compatible chat completions); the agent is off without a base URL. */
  readonly openai!: {
    baseUrl: string | undefined;
    apiKey: string | undefined;
    model: string | undefined;
    timeoutMs: number;
  };

  constructor(values: ConfigValues<WorkerConfig>) {
    super(values);
  }
}

export type WorkerEnv = z.output<z.ZodObject<typeof workerEnvShape>>;

/** The worker's own settings from validated variables. */
export function workerValues(
  v: WorkerEnv & { EVENT_RETENTION_S: number },
): Omit<ConfigValues<WorkerConfig>, keyof ConfigValues<CommonConfig>> {
  if (v.EVENT_RETENTION_S <= v.INPUT_TIMEOUT_S) {
    // a job answered near its deadline continues from its log: the log must still hold it
    throw new ConfigError(
      `invalid configuration:\n  - EVENT_RETENTION_S (${v.EVENT_RETENTION_S}) must be greater than INPUT_TIMEOUT_S (${v.INPUT_TIMEOUT_S}): a job waiting for input continues from its events, which must outlive the wait`,
    );
  }
  return {
    workerConcurrency: v.WORKER_CONCURRENCY,
    maxAttempts: v.MAX_ATTEMPTS,
    workerShutdownGraceMs: v.WORKER_SHUTDOWN_GRACE_MS,
    maxEventsPerJob: v.MAX_EVENTS_PER_JOB,
    maxEventBytes: v.MAX_EVENT_BYTES,
    maxJobBytes: v.MAX_JOB_BYTES,
    coalesceTextEvents: v.COALESCE_TEXT_EVENTS,
    inputTimeoutMs: v.INPUT_TIMEOUT_S * 1000,
    agentTtlMs: v.AGENT_TTL_S * 1000,
    workerAgents: v.WORKER_AGENTS ? v.WORKER_AGENTS.split(',').map((s) => s.trim()) : null,
    openai: {
      baseUrl: v.OPENAI_BASE_URL?.replace(/\/+$/, ''),
      apiKey: v.OPENAI_API_KEY || undefined,
      model: v.OPENAI_MODEL || undefined,
      timeoutMs: v.OPENAI_TIMEOUT_MS,
    },
  };
}

const workerEnvSchema = z.object({ ...commonEnvShape, ...workerEnvShape });

/** Validates the worker's variables (common + worker); throws ConfigError naming every bad one. */
export function loadWorkerConfig(env: RawEnv): WorkerConfig {
  const v = parseEnv(workerEnvSchema, env);
  return new WorkerConfig({ ...commonValues(v, env), ...workerValues(v) });
}

/** For the worker's entry point: the validated config, or exit 1 with the message naming the bad variables. */
export function loadWorkerConfigOrExit(env: RawEnv, program: string): WorkerConfig {
  return loadOrExit(() => loadWorkerConfig(env), program);
}
