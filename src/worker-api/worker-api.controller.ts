/** The HTTP worker protocol's routes (thin: the rules are in the claims and appends services). */
import { Body, Controller, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ApiWorkerDocs } from '../docs/worker-api.docs.js';
import { ShutdownService } from '../lifecycle/shutdown.service.js';
import { WorkerAppendsService } from './worker-appends.service.js';
import { WorkerClaimsService } from './worker-claims.service.js';
import { claimBodySchema, type ClaimBody, type HeartbeatAnswer, type LeaseGrant } from './worker-api.dto.js';
import { WorkerKeyGuard } from './worker-key.guard.js';

@Controller('v1/worker')
@UseGuards(WorkerKeyGuard)
export class WorkerApiController {
  constructor(
    private readonly claims: WorkerClaimsService,
    private readonly appends: WorkerAppendsService,
    private readonly shutdown: ShutdownService,
  ) {}

  @Post('claim')
  @HttpCode(200)
  @ApiWorkerDocs.claim()
  async claim(
    @Body(new ZodValidationPipe(claimBodySchema)) body: ClaimBody,
    @Res({ passthrough: true }) res: Response,
  ): Promise<LeaseGrant | undefined> {
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    // a long-poll ends at shutdown (204): the worker claims again, from another process
    const grant = await this.claims.claim(body, AbortSignal.any([gone.signal, this.shutdown.signal]));
    if (!grant) {
      res.status(204);
      return undefined;
    }
    return grant;
  }

  @Post('leases/:lease_id/events')
  @HttpCode(200)
  @ApiWorkerDocs.events()
  async events(
    @Param('lease_id') leaseId: string,
    @Body() body: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<unknown> {
    const r = await this.appends.append(leaseId, req.headers['producer-seq'], body);
    res.status(r.status);
    return r.status === 204 ? undefined : r.body;
  }

  @Post('leases/:lease_id/heartbeat')
  @HttpCode(200)
  @ApiWorkerDocs.heartbeat()
  heartbeat(@Param('lease_id') leaseId: string): Promise<HeartbeatAnswer> {
    return this.appends.heartbeat(leaseId);
  }
}
