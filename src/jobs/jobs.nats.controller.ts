/**
 * The internal request-reply API over NATS (served by every API process, queue group `jobstream-api`): create, get,
 * cancel and answer (`input`) a job with the same validation and tenant rules as REST (thin: the rules live in
 * JobsService).
 *
 * Each payload carries `api_key` (NatsApiKeyGuard: checked like the Bearer key; ignored when auth is off, the
 * default tenant); errors become the contract's error body (NatsErrorFilter).
 * Replies: `{ "job": Job }` (create adds `"created": boolean`, input adds `"accepted": boolean` — false for an
 * idempotent repeat, REST's 200), or the contract's `{ "error": { code, message } }`
 * with the REST codes. Documented in docs/NATS.md and docs/asyncapi.yaml.
 */
import { Controller, UseFilters, UseGuards } from '@nestjs/common';
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
import { NatsApiKeyGuard, NatsTenant } from '../auth/nats-api-key.guard.js';
import { NatsErrorFilter } from '../common/nats-error.filter.js';
import { parsePayload } from '../common/nats-payload.js';
import { CreateRateLimiter } from '../limits/create-rate-limiter.js';
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

@Controller()
@UseGuards(NatsApiKeyGuard)
@UseFilters(NatsErrorFilter)
export class JobsNatsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly inputs: JobInputService,
    private readonly rateLimit: CreateRateLimiter,
  ) {}

  @MessagePattern(API_SUBJECTS.create)
  async create(@Payload() payload: unknown, @NatsTenant() tenant: string): Promise<NatsCreateReply> {
    const { api_key: _, idempotency_key, ...body } = parsePayload(createPayloadSchema, payload);
    this.rateLimit.take(tenant);
    return this.jobs.create(tenant, parsePayload(createJobRequestSchema, body), idempotency_key);
  }

  @MessagePattern(API_SUBJECTS.get)
  async get(@Payload() payload: unknown, @NatsTenant() tenant: string): Promise<NatsJobReply> {
    const p = parsePayload(getPayloadSchema, payload);
    return { job: await this.jobs.get(tenant, p.id) };
  }

  @MessagePattern(API_SUBJECTS.cancel)
  async cancel(@Payload() payload: unknown, @NatsTenant() tenant: string): Promise<NatsJobReply> {
    const p = parsePayload(cancelPayloadSchema, payload);
    return { job: await this.jobs.cancel(tenant, p.id, p.reason ?? '') };
  }

  @MessagePattern(API_SUBJECTS.input)
  async input(@Payload() payload: unknown, @NatsTenant() tenant: string): Promise<NatsInputReply> {
    const { id, request_id, input } = parsePayload(inputPayloadSchema, payload);
    return this.inputs.input(tenant, id, { request_id, input });
  }
}
