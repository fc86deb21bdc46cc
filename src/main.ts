/**
 * `npm start` / `npm run start:api`: the API on the engine chosen by env (embedded when NATS_URL is unset, with an
 * in-process agent worker). Config is validated before anything starts.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { startApp } from './bootstrap.js';
import { shutdownOnSignals } from './lifecycle/signals.js';
import { STRONG_KEY_CHARS, loadConfigOrExit } from './config/config.js';
import { hashKey } from './config/key-hash.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, hashKey, 'jobstream');
  const logger = new Logger('Main');
  const running = await startApp(config);
  if (!config.tenancy.authEnabled) {
    logger.warn(
      'AUTHENTICATION IS OFF: API_KEYS is unset, every request acts as tenant "default". Set API_KEYS=tenant:key,... for any shared deployment.',
    );
  }
  if (config.tenancy.weakKeyEntries.length > 0) {
    logger.warn(
      `API_KEYS entries #${config.tenancy.weakKeyEntries.join(', #')} have keys shorter than ${STRONG_KEY_CHARS} characters (refused when NODE_ENV=production)`,
    );
  }
  if (config.env === 'production' && !config.metricsToken) {
    logger.warn('GET /metrics is off (404): NODE_ENV=production and METRICS_TOKEN is unset');
  }
  logger.log(
    `jobstream API listening on ${running.listening} (engine: ${config.engine}${config.inProcessWorker ? ', in-process worker' : ''}); docs at ${running.url}/docs`,
  );

  shutdownOnSignals({
    logger,
    stopping: 'shutting down (open streams are ended; clients resume elsewhere)',
    close: () => running.close(),
    timeoutMs: config.shutdownTimeoutMs,
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`jobstream: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
