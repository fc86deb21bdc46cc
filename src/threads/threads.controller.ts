/** REST endpoints of conversations (thin: validation in pipes, rules in ThreadsService). */
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import {
  createThreadRequestSchema,
  createTurnRequestSchema,
  type CreateThreadRequest,
  type CreateTurnRequest,
  type Job,
  type Thread,
} from '@jobstream/contracts';
import { ApiKeyGuard, Tenant } from '../auth/api-key.guard.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ApiThreadsDocs } from '../docs/threads.docs.js';
import { CreateRateLimitGuard } from '../limits/create-rate-limit.guard.js';
import { pageQuerySchema, type PageQuery } from './dto.js';
import { ThreadsService } from './threads.service.js';

@Controller('v1/threads')
@UseGuards(ApiKeyGuard)
export class ThreadsController {
  constructor(private readonly threads: ThreadsService) {}

  @Post()
  @UseGuards(CreateRateLimitGuard)
  @ApiThreadsDocs.create()
  async create(
    @Tenant() tenant: string,
    @Body(new ZodValidationPipe(createThreadRequestSchema)) body: CreateThreadRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Thread> {
    const t = await this.threads.create(tenant, body);
    res.status(201).setHeader('Location', `/v1/threads/${t.id}`);
    return t;
  }

  @Get()
  @ApiThreadsDocs.list()
  list(@Tenant() tenant: string, @Query(new ZodValidationPipe(pageQuerySchema, 'query')) q: PageQuery) {
    return this.threads.list(tenant, q);
  }

  @Get(':id')
  @ApiThreadsDocs.get()
  get(@Tenant() tenant: string, @Param('id') id: string): Promise<Thread> {
    return this.threads.get(tenant, id);
  }

  @Post(':id/jobs')
  @UseGuards(CreateRateLimitGuard)
  @ApiThreadsDocs.createTurn()
  async createTurn(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(createTurnRequestSchema)) body: CreateTurnRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Job> {
    const { job, created } = await this.threads.createTurn(tenant, id, body, idempotencyKey);
    res.status(created ? 201 : 200);
    if (created) res.setHeader('Location', `/v1/jobs/${job.id}`);
    return job;
  }

  @Get(':id/jobs')
  @ApiThreadsDocs.turns()
  turns(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Query(new ZodValidationPipe(pageQuerySchema, 'query')) q: PageQuery,
  ) {
    return this.threads.turns(tenant, id, q);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiThreadsDocs.delete()
  async delete(@Tenant() tenant: string, @Param('id') id: string): Promise<void> {
    await this.threads.delete(tenant, id);
  }
}
