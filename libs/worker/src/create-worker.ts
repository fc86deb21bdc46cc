/**
 * `createWorker`: a jobstream worker for your own agents, in your own process. It takes the jobs of its agents from
 * the work queue, runs them with every guarantee of the built-in worker (attempt fencing, dedup ids, heartbeats,
 * cancel, questions, hand-back on stop), and announces the agents to the catalogue so the API accepts their jobs.
 */
import { conversationOf, silentLogger, type DomainLogger, type RunnerMetrics } from '@jobstream/job-domain';
import { AgentRegistry, type Agent } from './agent.js';
import { AgentAnnouncer, newWorkerId } from './agent-announcer.js';
import { connectPorts, type WorkerPorts } from './ports.js';
import { JobRunner } from './runner/job-runner.js';
import { WorkerLoop } from './worker-loop.js';

export interface CreateWorkerOptions {
  /** The agents this worker serves (see `defineAgent`); it takes no other agent's jobs. */
  agents: Agent[];
  /** NATS servers, comma-separated; required unless `ports` is given. */
  natsUrl?: string;
  /** The Redis the API keeps job state in; required unless `ports` is given. */
  redisUrl?: string;
  /** Jobs run at once; default 4. */
  concurrency?: number;
  /** Where the worker logs (`{ msg, …fields }` records); default: nowhere. `console` fits. */
  logger?: DomainLogger;
  /** A job's attempts at most (MAX_ATTEMPTS); default 3. */
  maxAttempts?: number;
  /** On stop, how long running jobs may finish before they are handed back (WORKER_SHUTDOWN_GRACE_MS); 5 s. */
  shutdownGraceMs?: number;
  /** How long an announcement keeps this worker live in the catalogue (AGENT_TTL_S); 15 s. */
  agentTtlMs?: number;
  /**
   * The API's settings, which this worker must share (the defaults are the API's): JOB_STALL_TIMEOUT_MS,
   * EVENT_RETENTION_S, JOB_RETENTION_S, IDEMPOTENCY_TTL_S, JETSTREAM_MAX_BYTES, JETSTREAM_REPLICAS, and the
   * limits MAX_EVENTS_PER_JOB, MAX_EVENT_BYTES, MAX_JOB_BYTES, TENANT_LOG_BYTES_QUOTA, INPUT_TIMEOUT_S.
   */
  platform?: Partial<PlatformSettings>;
  /** Advanced: ports the host built (tests; the built-in worker). The worker does not close them. */
  ports?: Omit<WorkerPorts, 'close'>;
  /** Advanced: where the runner reports job transitions and limits. */
  metrics?: RunnerMetrics;
}

export interface PlatformSettings {
  stallTimeoutMs: number;
  eventRetentionMs: number;
  jobRetentionMs: number;
  idempotencyTtlMs: number;
  jetstreamMaxBytes: number;
  replicas: number;
  maxEventsPerJob: number;
  maxEventBytes: number;
  maxJobBytes: number;
  tenantLogBytesQuota: number;
  inputTimeoutMs: number;
}

const PLATFORM_DEFAULTS: PlatformSettings = {
  stallTimeoutMs: 60_000,
  eventRetentionMs: 86_400_000,
  jobRetentionMs: 86_400_000,
  idempotencyTtlMs: 86_400_000,
  jetstreamMaxBytes: 1024 ** 3,
  replicas: 1,
  maxEventsPerJob: 1_100_000,
  maxEventBytes: 256 * 1024,
  maxJobBytes: 64 * 1024 * 1024,
  tenantLogBytesQuota: 0,
  inputTimeoutMs: 82_800_000,
};

export interface Worker {
  /** This worker's id in the catalogue's live-worker counts. */
  readonly id: string;
  /** The names of the agents it serves. */
  readonly agents: string[];
  /** Connects, announces the agents and starts taking jobs. */
  start(): Promise<void>;
  /** Stops taking jobs, lets running ones finish for `shutdownGraceMs`, hands the rest back, withdraws, closes. */
  stop(): Promise<void>;
  /** Jobs running here now. */
  runningJobs(): string[];
}

export function createWorker(opts: CreateWorkerOptions): Worker {
  if (!Array.isArray(opts.agents) || opts.agents.length === 0)
    throw new TypeError('createWorker: `agents` must name at least one agent (see defineAgent)');
  if (!opts.ports && (!opts.natsUrl || !opts.redisUrl))
    throw new TypeError('createWorker: `natsUrl` and `redisUrl` are required (the NATS and Redis the API uses)');
  const registry = new AgentRegistry();
  for (const a of opts.agents) {
    if (registry.get(a.name)) throw new TypeError(`createWorker: agent "${a.name}" is given twice`);
    registry.register(a);
  }
  const logger = opts.logger ?? silentLogger;
  const p: PlatformSettings = { ...PLATFORM_DEFAULTS, ...opts.platform };
  const concurrency = opts.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError('createWorker: `concurrency` must be an integer ≥ 1');
  const id = newWorkerId();
  let running: { stop(): Promise<void>; runner: JobRunner } | null = null;
  let starting: Promise<void> | null = null;

  const start = async () => {
    const ports: WorkerPorts = opts.ports
      ? { ...opts.ports, close: async () => {} }
      : await connectPorts({ natsUrl: opts.natsUrl!, redisUrl: opts.redisUrl!, logger, ...p });
    try {
      const { store, log, threads } = ports;
      const runner = new JobRunner(store, log, registry, {
        maxAttempts: opts.maxAttempts ?? 3,
        workingIntervalMs: Math.max(1000, Math.floor(p.stallTimeoutMs / 3)),
        // longer than one broker request timeout; the job stays held (working()) meanwhile
        appendRetryMs: Math.max(30_000, p.stallTimeoutMs),
        maxEventsPerJob: p.maxEventsPerJob,
        maxEventBytes: p.maxEventBytes,
        maxJobBytes: p.maxJobBytes,
        tenantLogBytesQuota: p.tenantLogBytesQuota,
        inputTimeoutMs: p.inputTimeoutMs,
        logger,
        ...(opts.metrics ? { metrics: opts.metrics } : {}),
        ...(threads ? { turnContext: (job) => conversationOf(job, threads, store, log) } : {}),
      });
      const announcer = new AgentAnnouncer(ports.catalog, registry, {
        workerId: id,
        ttlMs: opts.agentTtlMs ?? 15_000,
        logger,
      });
      const loop = new WorkerLoop(ports.queue, ports.control, runner, registry, {
        concurrency,
        graceMs: opts.shutdownGraceMs ?? 5_000,
        logger,
      });
      await announcer.start();
      try {
        await loop.start();
      } catch (err) {
        await announcer.stop();
        throw err;
      }
      running = {
        runner,
        stop: async () => {
          await loop.stop();
          await announcer.stop();
          await ports.close();
        },
      };
    } catch (err) {
      await ports.close();
      throw err;
    }
  };

  return {
    id,
    agents: registry.names(),
    start: () => (starting ??= start()),
    stop: async () => {
      await starting?.catch(() => {});
      const r = running;
      running = null;
      starting = null;
      await r?.stop();
    },
    runningJobs: () => running?.runner.runningJobs() ?? [],
  };
}
