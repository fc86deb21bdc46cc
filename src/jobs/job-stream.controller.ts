/**
 * The SSE endpoint (thin): authorize, plan the stream (cursor, snapshot, filter, format: StreamPlanner), then hand
 * the response to the SSE writer; and `GET :id/snapshot` (resume v2). Also issues the
 * browser stream tokens it accepts as `?access_token=` (EventSource cannot send an Authorization header).
 */
import { Controller, Get, Header, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  AcceptsShareToken,
  AcceptsStreamToken,
  ApiKeyGuard,
  Tenant,
  type AuthedRequest,
} from '../auth/api-key.guard.js';
import { StreamTokenService, type IssuedStreamToken } from '../auth/stream-token.service.js';
import { ApiError } from '../common/api-error.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { StreamLimits } from '../limits/stream-limits.js';
import { AppConfig } from '../config/config.js';
import { ApiJobsDocs } from '../docs/jobs.docs.js';
import { SseConnections } from '../sse/sse-connections.js';
import { writeSse } from '../sse/sse-writer.js';
import { START, type JobSnapshot } from '@jobstream/contracts';
import { positionOf } from '@jobstream/event-log';
import { snapshotQuerySchema, streamQuerySchema, type SnapshotQuery, type StreamQuery } from './dto/queries.js';
import { JobStreamService, REPLAY_PAGE_BYTES } from './job-stream.service.js';
import { JobsService } from './jobs.service.js';
import { SnapshotsService } from './snapshots.service.js';
import { StreamPlanner } from './stream-planner.js';
import { traceSession } from '../tracing/tracing.js';

@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobStreamController {
  constructor(
    private readonly jobs: JobsService,
    private readonly streams: JobStreamService,
    private readonly connections: SseConnections,
    private readonly config: AppConfig,
    private readonly tokens: StreamTokenService,
    private readonly limits: StreamLimits,
    private readonly snapshots: SnapshotsService,
    private readonly planner: StreamPlanner,
  ) {}

  @Post(':id/stream-tokens')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiJobsDocs.streamToken()
  async streamToken(@Tenant() tenant: string, @Param('id') id: string): Promise<IssuedStreamToken> {
    await this.jobs.record(tenant, id); // unknown or another tenant's job: 404
    return this.tokens.issue(tenant, id);
  }

  @Get(':id/stream')
  @AcceptsStreamToken()
  @AcceptsShareToken()
  @ApiJobsDocs.stream()
  async stream(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Query(new ZodValidationPipe(streamQuerySchema, 'query')) q: StreamQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (this.connections.isClosing) {
      throw new ApiError(503, 'service_unavailable', 'this instance is shutting down; retry', { 'Retry-After': '1' });
    }
    const job = await this.jobs.record(tenant, id);
    // cursor (the Last-Event-ID header wins over ?after=), snapshot, type filter, format
    const plan = await this.planner.plan(job, q, lastEventId);
    const share = (req as AuthedRequest).share;
    const release = await this.limits.reserve(tenant, share?.id);
    try {
      // no await between this check and writeSse's registration: the caps cannot be overrun by concurrent opens
      this.limits.assertRoom(share?.id);
      res.once('close', release);
      for (const [k, v] of Object.entries(plan.headers)) res.setHeader(k, v);
      traceSession(res, 'job.stream', { 'jobstream.job_id': id, 'jobstream.tenant': tenant });
      // a replay page (with its frames' overhead) stays well inside the writer's per-burst bound
      const pageBytes = Math.min(REPLAY_PAGE_BYTES, Math.floor(this.config.sseMaxBufferBytes / 4));
      writeSse(req, res, this.connections, (sink) => this.streams.open(id, plan.start, sink, plan.render, pageBytes), {
        tenant,
        jobId: id,
        ...(share
          ? { share: { id: share.id, digest: share.token_digest, expiresAt: Date.parse(share.expires_at) } }
          : {}),
        retryMs: this.config.sseRetryMs,
        maxBufferBytes: this.config.sseMaxBufferBytes,
        stallTimeoutMs: this.config.sseStallTimeoutMs,
      });
      if (req.socket.destroyed) release(); // the client left while the slot was being taken
    } catch (err) {
      release();
      throw err;
    }
  }

  @Get(':id/snapshot')
  @ApiJobsDocs.snapshot()
  async snapshot(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Query(new ZodValidationPipe(snapshotQuerySchema, 'query')) q: SnapshotQuery,
  ): Promise<JobSnapshot & { id: string }> {
    const job = await this.jobs.record(tenant, id);
    const start = await this.streams.resolveCursor(job, q.at);
    // no `at` ⇒ now: the newest event
    const at = q.at !== undefined && q.at.trim() !== '' ? start.after : start.last ? positionOf(start.last) : START;
    const placed = await this.snapshots.at(id, at);
    return { ...placed.snapshot, id: placed.id };
  }
}
