/**
 * Builds and starts the agent-worker microservice: engine first (from validated config; NATS is required), then the
 * Nest microservice on the NATS transport (diagnostics), on the engine's NATS connection (one per process); closes in
 * the reverse order. Used by `worker/main.ts`.
 */
import { Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { defaultLogger } from '../logging/logging.js';
import { natsMicroserviceOptions } from '../common/nats-transport.js';
import type { WorkerConfig } from '../config/worker.config.js';
import { createEngine, type Engine } from '../engine/engine.js';
import { startTracing } from '../tracing/tracing.js';
import type { AgentRegistry } from '../worker-core/agents/agent.js';
import { WORKER_ID } from './worker.controller.js';
import { AGENT_REGISTRY } from '../worker-core/worker.constants.js';
import { WorkerModule } from './worker.module.js';

export class WorkerConfigError extends Error {
  override readonly name = 'WorkerConfigError';
}

export interface RunningWorker {
  app: INestMicroservice;
  engine: Engine;
  agents: string[];
  close(): Promise<void>;
}

export async function startWorker(
  config: WorkerConfig,
  opts: { logger?: LoggerService | false } = {},
): Promise<RunningWorker> {
  if (!config.natsUrl) {
    throw new WorkerConfigError(
      'NATS_URL is required: the worker takes jobs from the JetStream work queue (e.g. NATS_URL=nats://127.0.0.1:4222, and REDIS_URL for the shared job store)',
    );
  }
  const tracing = await startTracing(config, 'jobstream-worker');
  const engine = await createEngine(config, new Logger('Bootstrap')).catch(async (err: unknown) => {
    await tracing?.shutdown();
    throw err;
  });
  let app: INestMicroservice;
  try {
    app = await NestFactory.createMicroservice(WorkerModule.forRoot(config, engine), {
      ...natsMicroserviceOptions(config, { name: `jobstream-worker ${WORKER_ID}` }, engine.nats),
      logger: opts.logger ?? defaultLogger(config),
    });
    await app.listen();
  } catch (err) {
    await engine.close();
    await tracing?.shutdown();
    throw err;
  }
  const agents = app.get<AgentRegistry>(AGENT_REGISTRY).names();
  let closing: Promise<void> | null = null;
  return {
    app,
    engine,
    agents,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await engine.close();
        await tracing?.shutdown();
      })()),
  };
}
