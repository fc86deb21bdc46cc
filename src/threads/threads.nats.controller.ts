/**
 * Request-reply over NATS for conversations (served by every API process, queue group `jobstream-api`), with the
 * REST rules: `jobstream.api.threads.create` `{ api_key?, agent, metadata? }` ⇒ `{ thread }`;
 * `jobstream.api.threads.jobs.create` `{ api_key?, thread_id, input, metadata?, if_busy?, idempotency_key? }` ⇒
 * `{ job, created }`; or the contract's error body. Documented in docs/NATS.md and docs/asyncapi.yaml.
 */
import { Controller, Logger } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import {
  API_SUBJECTS,
  createThreadRequestSchema,
  createTurnRequestSchema,
  type ErrorBody,
  type Job,
  type Thread,
} from '@jobstream/contracts';
import { DEFAULT_TENANT } from '../auth/auth.constants.js';
import { ApiError } from '../common/api-error.js';
import { mapError, zodMessage } from '../common/error-mapping.js';
import { CreateRateLimiter } from '../limits/create-rate-limiter.js';
import { AppConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { ThreadsService } from './threads.service.js';

const envelope = z.object({ api_key: z.string().optional() }).passthrough();
const turnEnvelope = z
  .object({ api_key: z.string().optional(), thread_id: z.string(), idempotency_key: z.string().optional() })
  .passthrough();

function object(payload: unknown): Record<string, unknown> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    throw ApiError.invalid('the payload must be a JSON object');
  return payload as Record<string, unknown>;
}

@Controller()
export class ThreadsNatsController {
  private readonly logger = new Logger('ThreadsNats');

  constructor(
    private readonly threads: ThreadsService,
    private readonly config: AppConfig,
    private readonly rateLimit: CreateRateLimiter,
  ) {}

  @MessagePattern(API_SUBJECTS.threadsCreate)
  create(@Payload() payload: unknown): Promise<{ thread: Thread } | ErrorBody> {
    return this.reply(async () => {
      const env = envelope.safeParse(object(payload));
      if (!env.success) throw ApiError.invalid(zodMessage(env.error));
      const { api_key, ...body } = env.data;
      const tenant = this.tenant(api_key);
      this.rateLimit.take(tenant, 'threads');
      const req = createThreadRequestSchema.safeParse(body);
      if (!req.success) throw ApiError.invalid(zodMessage(req.error));
      return { thread: await this.threads.create(tenant, req.data) };
    });
  }

  @MessagePattern(API_SUBJECTS.threadJobsCreate)
  createTurn(@Payload() payload: unknown): Promise<{ job: Job; created: boolean } | ErrorBody> {
    return this.reply(async () => {
      const env = turnEnvelope.safeParse(object(payload));
      if (!env.success) throw ApiError.invalid(zodMessage(env.error));
      const { api_key, thread_id, idempotency_key, ...body } = env.data;
      const tenant = this.tenant(api_key);
      this.rateLimit.take(tenant);
      const req = createTurnRequestSchema.safeParse(body);
      if (!req.success) throw ApiError.invalid(zodMessage(req.error));
      return this.threads.createTurn(tenant, thread_id, req.data, idempotency_key);
    });
  }

  private tenant(apiKey: string | undefined): string {
    const { tenancy } = this.config;
    if (!tenancy.authEnabled) return DEFAULT_TENANT;
    if (apiKey === undefined || apiKey === '')
      throw new ApiError(401, 'unauthorized', 'missing API key: send "api_key" in the payload');
    const tenant = tenancy.keys.get(hashKey(apiKey));
    if (!tenant) throw new ApiError(401, 'unauthorized', 'invalid API key');
    return tenant;
  }

  private async reply<T>(fn: () => Promise<T>): Promise<T | ErrorBody> {
    try {
      return await fn();
    } catch (err) {
      const m = mapError(err);
      if (m.unexpected)
        this.logger.error({
          msg: 'unexpected error',
          err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err),
        });
      return m.body;
    }
  }
}
