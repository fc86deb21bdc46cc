import { describe, expect, it } from '@jest/globals';
import { loadWorkerConfig } from '../config/worker.config.js';
import { WorkerConfigError, startWorker } from './worker.bootstrap.js';

describe('startWorker', () => {
  it('refuses to start without NATS_URL, saying what to set', async () => {
    const err = await startWorker(loadWorkerConfig({ LOG_LEVEL: 'silent' }), { logger: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkerConfigError);
    expect((err as Error).message).toMatch(/NATS_URL is required/);
  });
});
