/** Placeholder until the JetStream/Redis drivers land: the NATS engine is assembled here. */
import type { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import type { Engine } from './engine.js';

export async function createNatsEngine(_config: AppConfig, _logger: Logger): Promise<Engine> {
  throw new Error('the NATS engine is not available in this build');
}
