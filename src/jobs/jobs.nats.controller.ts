/**
 * The internal request-reply API over NATS (served by every API process, queue group `jobstream-api`): create, get,
 * cancel and answer (`input`) a job with the same validation and tenant rules as REST (thin: the rules live in
 * JobsService).
 *
 * Each payload carries `api_key` (checked like the Bearer key; ignored when auth is off, the default tenant).
 * Replies: `{ "job": Job }` (create adds `"created": boolean`, input adds `"accepted": boolean` — false for an
 * idempotent repeat, REST's 200), or the contract's `{ "error": { code, message } }`
 * with the REST codes. Documented in docs/NATS.md and docs/asyncapi.yaml.
 */
import { Controller, Logger } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import {
  API_SUBJECTS,
  cancelJobRequestSchema,
  createJobRequestSchema,
  inputJobRequestSchema,
  type ErrorBody,
  type Job,
} from '@jobstream/contracts';
import { DEFAULT_TENANT } from '../auth/auth.constants.js';
import { ApiError } from '../common/api-error.js';
import { mapError, zodMessage } from '../common/error-mapping.js';
import { RejectedPayload } from '../common/nats-transport.js';
import { CreateRateLimiter } from '../limits/create-rate-limiter.js';
import { AppConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { JobInputService } from './job-input.service.js';
import { JobsService } from './jobs.service.js';

export type NatsJobReply = { job: Job } | ErrorBody;
export type NatsCreateReply = { job: Job; created: boolean } | ErrorBody;
export type NatsInputReply = { job: Job; accepted: boolean } | ErrorBody;

const credentials = { api_key: z.string().optional() };
const createPayloadSchema = z.object({ ...credentials, idempotency_key: z.string().optional() }).passthrough();
const getPayloadSchema = z.strictObject({ ...credentials, id: z.string() });
const cancelPayloadSchema = z.strictObject({
  ...credentials,
  id: z.string(),
  reason: cancelJobRequestSchema.shape.reason,
});
const inputPayloadSchema = z.strictObject({ ...credentials, id: z.string(), ...inputJobRequestSchema.shape });

function parse<S extends z.ZodType>(schema: S, payload: unknown): z.infer<S> {
  if (payload instanceof RejectedPayload) throw ApiError.invalid(payload.message);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw ApiError.invalid('the payload must be a JSON object');
  }
  const res = schema.safeParse(payload);
  if (!res.success) throw ApiError.invalid(zodMessage(res.error));
  return res.data;
}

@Controller()
export class JobsNatsController {
  private readonly logger = new Logger('JobsNats');

  constructor(
    private readonly jobs: JobsService,
    private readonly inputs: JobInputService,
    private readonly config: AppConfig,
    private readonly rateLimit: CreateRateLimiter,
  ) {}

  @MessagePattern(API_SUBJECTS.create)
  create(@Payload() payload: unknown): Promise<NatsCreateReply> {
    return this.reply(async () => {
      const { api_key, idempotency_key, ...body } = parse(createPayloadSchema, payload);
      const tenant = this.tenant(api_key);
      this.rateLimit.take(tenant);
      const req = createJobRequestSchema.safeParse(body);
      if (!req.success) throw ApiError.invalid(zodMessage(req.error));
      return this.jobs.create(tenant, req.data, idempotency_key);
    });
  }

  @MessagePattern(API_SUBJECTS.get)
  get(@Payload() payload: unknown): Promise<NatsJobReply> {
    return this.reply(async () => {
      const p = parse(getPayloadSchema, payload);
      return { job: await this.jobs.get(this.tenant(p.api_key), p.id) };
    });
  }

  @MessagePattern(API_SUBJECTS.cancel)
  cancel(@Payload() payload: unknown): Promise<NatsJobReply> {
    return this.reply(async () => {
      const p = parse(cancelPayloadSchema, payload);
      return { job: await this.jobs.cancel(this.tenant(p.api_key), p.id, p.reason ?? '') };
    });
  }

  @MessagePattern(API_SUBJECTS.input)
  input(@Payload() payload: unknown): Promise<NatsInputReply> {
    return this.reply(async () => {
      const { api_key, id, request_id, input } = parse(inputPayloadSchema, payload);
      return this.inputs.input(this.tenant(api_key), id, { request_id, input });
    });
  }

  /** The tenant of an API key, exactly as the REST guard decides it. */
  private tenant(apiKey: string | undefined): string {
    const { tenancy } = this.config;
    if (!tenancy.authEnabled) return DEFAULT_TENANT;
    if (apiKey === undefined || apiKey === '')
      throw new ApiError(401, 'unauthorized', 'missing API key: send "api_key" in the payload');
    const tenant = tenancy.keys.get(hashKey(apiKey));
    if (!tenant) throw new ApiError(401, 'unauthorized', 'invalid API key');
    return tenant;
  }

  /** Every failure becomes the contract's error body (never a stack trace, never a Nest RPC error). */
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
