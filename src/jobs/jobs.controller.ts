/** REST endpoints of the jobs API (thin: validation in pipes, rules in JobsService). */
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  cancelJobRequestSchema,
  createJobRequestSchema,
  inputJobRequestSchema,
  type CancelJobRequest,
  type CreateJobRequest,
  type InputJobRequest,
  type Job,
} from '@jobstream/contracts';
import { AcceptsShareToken, ApiKeyGuard, Tenant } from '../auth/api-key.guard.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ShutdownService } from '../lifecycle/shutdown.service.js';
import { CreateRateLimitGuard } from '../limits/create-rate-limit.guard.js';
import { WaitLimits } from '../limits/wait-limits.js';
import { ApiJobsDocs } from '../docs/jobs.docs.js';
import {
  eventsQuerySchema,
  listQuerySchema,
  waitQuerySchema,
  type EventsQuery,
  type ListQuery,
  type WaitQuery,
} from './dto/queries.js';
import { JobInputService } from './job-input.service.js';
import { JobsService, type EventsPage } from './jobs.service.js';
import { FILTER_HEADER, parseEventFilter } from './stream-formats/event-filter.js';

@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly inputs: JobInputService,
    private readonly shutdown: ShutdownService,
    private readonly waits: WaitLimits,
  ) {}

  @Post()
  @UseGuards(CreateRateLimitGuard)
  @ApiJobsDocs.create()
  async create(
    @Tenant() tenant: string,
    @Body(new ZodValidationPipe(createJobRequestSchema)) body: CreateJobRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Job> {
    const { job, created } = await this.jobs.create(tenant, body, idempotencyKey);
    res.status(created ? 201 : 200);
    if (created) res.setHeader('Location', `/v1/jobs/${job.id}`);
    return job;
  }

  @Get()
  @ApiJobsDocs.list()
  list(@Tenant() tenant: string, @Query(new ZodValidationPipe(listQuerySchema, 'query')) q: ListQuery) {
    return this.jobs.list(tenant, q);
  }

  @Get(':id')
  @AcceptsShareToken()
  @ApiJobsDocs.get()
  get(@Tenant() tenant: string, @Param('id') id: string): Promise<Job> {
    return this.jobs.get(tenant, id);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiJobsDocs.cancel()
  cancel(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(cancelJobRequestSchema.optional(), 'cancel')) body: CancelJobRequest | undefined,
  ): Promise<Job> {
    return this.jobs.cancel(tenant, id, body?.reason ?? '');
  }

  /** Answer the job's open `input_required`: 202 accepted, 200 the same answer again. */
  @Post(':id/input')
  @ApiJobsDocs.input()
  async input(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(inputJobRequestSchema)) body: InputJobRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Job> {
    const { job, accepted } = await this.inputs.input(tenant, id, body);
    res.status(accepted ? 202 : 200);
    return job;
  }

  @Get(':id/events')
  @AcceptsShareToken()
  @ApiJobsDocs.events()
  async events(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Query(new ZodValidationPipe(eventsQuerySchema, 'query')) q: EventsQuery,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EventsPage> {
    const filter = parseEventFilter(q.types);
    const page = await this.jobs.events(tenant, id, q.after, q.limit, filter);
    if (filter) res.setHeader(FILTER_HEADER, filter.header);
    return page;
  }

  @Get(':id/wait')
  @ApiJobsDocs.wait()
  wait(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Query(new ZodValidationPipe(waitQuerySchema, 'query')) q: WaitQuery,
    @Req() req: Request,
  ): Promise<Job> {
    const release = this.waits.acquire(tenant);
    const ac = new AbortController();
    req.on('close', () => ac.abort());
    // at shutdown a long-poll answers at once with the job as it is; the client simply waits again elsewhere
    return this.jobs.wait(tenant, id, q.timeout_s, AbortSignal.any([ac.signal, this.shutdown.signal])).finally(release);
  }
}
