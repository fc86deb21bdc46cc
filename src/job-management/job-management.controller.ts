/** REST endpoints of job management: rerun, batch create, delete (thin: rules in JobManagementService). */
import { Body, Controller, Delete, Headers, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import {
  batchJobsRequestSchema,
  rerunJobRequestSchema,
  type BatchJobsRequest,
  type Job,
  type RerunJobRequest,
} from '@jobstream/contracts';
import { ApiKeyGuard, Tenant } from '../auth/api-key.guard.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ApiJobManagementDocs } from '../docs/threads.docs.js';
import { CreateRateLimitGuard } from '../limits/create-rate-limit.guard.js';
import { JobManagementService, type BatchItem } from './job-management.service.js';

@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobManagementController {
  constructor(private readonly jobs: JobManagementService) {}

  @Post('batch')
  @HttpCode(200)
  @ApiJobManagementDocs.batch()
  batch(
    @Tenant() tenant: string,
    @Body(new ZodValidationPipe(batchJobsRequestSchema)) body: BatchJobsRequest,
  ): Promise<{ items: BatchItem[] }> {
    return this.jobs.batch(tenant, body.jobs);
  }

  @Post(':id/rerun')
  @UseGuards(CreateRateLimitGuard)
  @ApiJobManagementDocs.rerun()
  async rerun(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(rerunJobRequestSchema.optional(), 'rerun')) body: RerunJobRequest | undefined,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Job> {
    const { job, created } = await this.jobs.rerun(tenant, id, body ?? {}, idempotencyKey);
    res.status(created ? 201 : 200);
    if (created) res.setHeader('Location', `/v1/jobs/${job.id}`);
    return job;
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiJobManagementDocs.delete()
  async delete(@Tenant() tenant: string, @Param('id') id: string): Promise<void> {
    await this.jobs.delete(tenant, id);
  }
}
