/**
 * Process-level shutdown shared by the API and the worker: on the first SIGTERM/SIGINT, close and exit 0; exit 1
 * when closing fails or takes longer than `timeoutMs` (a hard bound, so no process outlives its orchestrator's
 * grace period).
 */
import type { LoggerService } from '@nestjs/common';

export interface ShutdownOnSignals {
  logger: LoggerService;
  /** Logged when the signal arrives, after the signal's name. */
  stopping: string;
  close: () => Promise<void>;
  timeoutMs: number;
}

export function shutdownOnSignals({ logger, stopping, close, timeoutMs }: ShutdownOnSignals): void {
  let started = false;
  const stop = (signal: string) => {
    if (started) return;
    started = true;
    logger.log(`${signal}: ${stopping}`);
    const hard = setTimeout(() => {
      logger.error(`shutdown took over ${timeoutMs} ms; exiting`);
      process.exit(1);
    }, timeoutMs);
    hard.unref();
    close().then(
      () => {
        logger.log(`${signal}: shut down cleanly`);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
