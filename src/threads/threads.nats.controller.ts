/**
 * Request-reply over NATS for conversations (served by every API process, queue group `jobstream-api`), with the
 * REST rules: `jobstream.api.threads.create` `{ api_key?, agent, metadata? }` ⇒ `{ thread }`;
 * `jobstream.api.threads.jobs.create` `{ api_key?, thread_id, input, metadata?, if_busy?, idempotency_key? }` ⇒
 * `{ job, created }`; or the contract's error body (NatsApiKeyGuard and NatsErrorFilter, as for jobs). Documented in docs/NATS.md and docs/asyncapi.yaml.
 */
import { Controller, UseFilters, UseGuards } from '@nestjs/common';
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
import { NatsApiKeyGuard, NatsTenant } from '../auth/nats-api-key.guard.js';
import { NatsErrorFilter } from '../common/nats-error.filter.js';
import { parsePayload } from '../common/nats-payload.js';
import { CreateRateLimiter } from '../limits/create-rate-limiter.js';
import { ThreadsService } from './threads.service.js';

const envelope = z.object({ api_key: z.string().optional() }).passthrough();
const turnEnvelope = z
  .object({ api_key: z.string().optional(), thread_id: z.string(), idempotency_key: z.string().optional() })
  .passthrough();

@Controller()
@UseGuards(NatsApiKeyGuard)
@UseFilters(NatsErrorFilter)
export class ThreadsNatsController {
  constructor(
    private readonly threads: ThreadsService,
    private readonly rateLimit: CreateRateLimiter,
  ) {}

  @MessagePattern(API_SUBJECTS.threadsCreate)
  async create(@Payload() payload: unknown, @NatsTenant() tenant: string): Promise<{ thread: Thread } | ErrorBody> {
    const { api_key: _, ...body } = parsePayload(envelope, payload);
    this.rateLimit.take(tenant, 'threads');
    return { thread: await this.threads.create(tenant, parsePayload(createThreadRequestSchema, body)) };
  }

  @MessagePattern(API_SUBJECTS.threadJobsCreate)
  async createTurn(
    @Payload() payload: unknown,
    @NatsTenant() tenant: string,
  ): Promise<{ job: Job; created: boolean } | ErrorBody> {
    const { api_key: _, thread_id, idempotency_key, ...body } = parsePayload(turnEnvelope, payload);
    this.rateLimit.take(tenant);
    return this.threads.createTurn(tenant, thread_id, parsePayload(createTurnRequestSchema, body), idempotency_key);
  }
}
