/**
 * `npm run start:worker`: one agent-worker microservice. Takes jobs from the JetStream work queue (needs NATS_URL;
 * REDIS_URL for the job store shared with the API), runs them, answers `jobstream.worker.ping`.
 *
 * SIGTERM / SIGINT: stop taking jobs, let running ones finish for WORKER_SHUTDOWN_GRACE_MS, hand the rest back to
 * the queue (another worker continues them at once), exit 0 — within 10 s unless the grace period is set longer.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadWorkerConfigOrExit } from '../config/worker.config.js';
import { shutdownOnSignals } from '../lifecycle/signals.js';
import { WORKER_ID } from './worker.controller.js';
import { WorkerConfigError, startWorker } from './worker.bootstrap.js';

/** Beyond the grace period: the hand-back, closing the engine. */
const SHUTDOWN_MARGIN_MS = 5_000;

async function main(): Promise<void> {
  const config = loadWorkerConfigOrExit(process.env, 'jobstream-worker');
  let running;
  try {
    running = await startWorker(config);
  } catch (err) {
    if (err instanceof WorkerConfigError) {
      process.stderr.write(`jobstream-worker: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = new Logger('Worker');
  logger.log({
    msg: `jobstream worker ${WORKER_ID} serving agents [${running.agents.join(', ')}] with concurrency ${config.workerConcurrency}`,
    worker_id: WORKER_ID,
    agents: running.agents,
    concurrency: config.workerConcurrency,
    max_attempts: config.maxAttempts,
    stall_timeout_ms: config.jobStallTimeoutMs,
    shutdown_grace_ms: config.workerShutdownGraceMs,
    store: config.hasRedis ? 'redis' : 'memory',
  });
  if (!config.hasRedis)
    logger.warn('REDIS_URL (or REDIS_SENTINELS) is unset: this worker cannot share job state with the API; set it');

  shutdownOnSignals({
    logger,
    stopping: `stopping (no new jobs; running jobs get ${config.workerShutdownGraceMs} ms, then are handed back)`,
    close: () => running.close(),
    timeoutMs: Math.max(10_000, config.workerShutdownGraceMs + SHUTDOWN_MARGIN_MS),
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`jobstream-worker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
