import { Logger, Module } from '@nestjs/common';
import type { EventLog } from '@jobstream/event-log';
import type { JobStore } from '@jobstream/job-store';
import { WorkerConfig } from '../config/worker.config.js';
import type { ThreadStore } from '@jobstream/thread-store';
import { EVENT_LOG, JOB_STORE, THREAD_STORE } from '../engine/engine.constants.js';
import { conversationOf } from '@jobstream/job-domain';
import { EchoAgent } from './agents/echo.agent.js';
import { OpenAiAgent } from './agents/openai.agent.js';
import { AgentRegistry, JobRunner } from '@jobstream/worker/runtime';
import type { RunnerMetrics } from '@jobstream/job-domain';
import { AGENT_REGISTRY, JOB_RUNNER, RUNNER_METRICS } from './worker.constants.js';
import { WorkerService } from './worker.service.js';
import { AgentAnnouncer } from './agent-announcer.js';

/**
 * The agent worker: the built-in agents (echo, openai) on @jobstream/worker's runner, queue consumer and announcer.
 * Imported in-process or by the worker app.
 */
@Module({
  providers: [
    {
      provide: AGENT_REGISTRY,
      inject: [WorkerConfig],
      useFactory: (config: WorkerConfig) => {
        const all = new AgentRegistry([new EchoAgent()]);
        const { baseUrl, apiKey, model, timeoutMs } = config.openai;
        if (baseUrl) all.register(new OpenAiAgent({ baseUrl, apiKey, defaultModel: model, timeoutMs }));
        const only = config.workerAgents;
        if (!only) return all;
        const missing = only.filter((n) => !all.get(n));
        if (missing.length > 0)
          throw new Error(
            `WORKER_AGENTS names agents this worker cannot run: ${missing.join(', ')} (it has ${all.names().join(', ')})`,
          );
        // only the agents asked for: this worker announces and takes no other agent's jobs
        return new AgentRegistry(only.map((n) => all.get(n)!));
      },
    },
    {
      provide: JOB_RUNNER,
      // Metrics only where a MetricsModule provides RUNNER_METRICS (the API app); the runner has no Nest dependency.
      inject: [
        JOB_STORE,
        EVENT_LOG,
        AGENT_REGISTRY,
        WorkerConfig,
        THREAD_STORE,
        { token: RUNNER_METRICS, optional: true },
      ],
      useFactory: (
        store: JobStore,
        log: EventLog,
        agents: AgentRegistry,
        config: WorkerConfig,
        threads: ThreadStore,
        metrics?: RunnerMetrics,
      ) =>
        new JobRunner(store, log, agents, {
          maxAttempts: config.maxAttempts,
          workingIntervalMs: Math.max(1000, Math.floor(config.jobStallTimeoutMs / 3)),
          // longer than one broker request timeout; the job stays held (working()) meanwhile
          appendRetryMs: Math.max(30_000, config.jobStallTimeoutMs),
          maxEventsPerJob: config.maxEventsPerJob,
          maxEventBytes: config.maxEventBytes,
          maxJobBytes: config.maxJobBytes,
          coalesceText: config.coalesceTextEvents,
          tenantLogBytesQuota: config.tenantLogBytesQuota,
          inputTimeoutMs: config.inputTimeoutMs,
          metrics,
          logger: new Logger('JobRunner'),
          turnContext: (job) => conversationOf(job, threads, store, log),
        }),
    },
    WorkerService,
    AgentAnnouncer,
  ],
  exports: [JOB_RUNNER, AGENT_REGISTRY],
})
export class WorkerCoreModule {}
