import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { WorkerConfigError, startWorker } from './worker.bootstrap.js';

describe('startWorker', () => {
  it('refuses to start without NATS_URL, saying what to set', async () => {
    const err = await startWorker(loadConfig({ LOG_LEVEL: 'silent' }, hashKey), { logger: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerConfigError);
    expect((err as Error).message).toMatch(/NATS_URL is required/);
  });
});
