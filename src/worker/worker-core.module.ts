import { Module } from '@nestjs/common';
import type { EventLog } from '@jobstream/event-log';
import type { JobStore } from '@jobstream/job-store';
import { AppConfig } from '../config/config.js';
import type { ThreadStore } from '@jobstream/thread-store';
import { EVENT_LOG, JOB_STORE, THREAD_STORE } from '../engine/engine.constants.js';
import { conversationOf } from '../threads/conversation-history.js';
import { Metrics } from '../metrics/metrics.service.js';
import { AgentRegistry } from './agents/agent.js';
import { EchoAgent } from './agents/echo.agent.js';
import { OpenAiAgent } from './agents/openai.agent.js';
import { JobRunner } from './job-runner.js';
import { AGENT_REGISTRY, JOB_RUNNER } from './worker.constants.js';
import { WorkerService } from './worker.service.js';

/** The agent worker: agents, the job runner and the queue consumer. Imported in-process or by the worker app. */
@Module({
  providers: [
    {
      provide: AGENT_REGISTRY,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const agents = new AgentRegistry([new EchoAgent()]);
        const { baseUrl, apiKey, model, timeoutMs } = config.openai;
        if (baseUrl) agents.register(new OpenAiAgent({ baseUrl, apiKey, defaultModel: model, timeoutMs }));
        return agents;
      },
    },
    {
      provide: JOB_RUNNER,
      // Metrics only where a MetricsModule is loaded (the API app); the runner itself has no Nest dependency.
      inject: [JOB_STORE, EVENT_LOG, AGENT_REGISTRY, AppConfig, THREAD_STORE, { token: Metrics, optional: true }],
      useFactory: (store: JobStore, log: EventLog, agents: AgentRegistry, config: AppConfig, threads: ThreadStore, metrics?: Metrics) =>
        new JobRunner(store, log, agents, {
          maxAttempts: config.maxAttempts,
          workingIntervalMs: Math.max(1000, Math.floor(config.jobStallTimeoutMs / 3)),
          // longer than one broker request timeout; the job stays held (working()) meanwhile
          appendRetryMs: Math.max(30_000, config.jobStallTimeoutMs),
          maxEventsPerJob: config.maxEventsPerJob,
          inputTimeoutMs: config.inputTimeoutMs,
          metrics,
          turnContext: (job) => conversationOf(job, threads, store, log),
        }),
    },
    WorkerService,
  ],
  exports: [JOB_RUNNER, AGENT_REGISTRY],
})
export class WorkerCoreModule {}
