/**
 * GET /metrics (Prometheus text format). Public unless METRICS_TOKEN is set; then `Authorization: Bearer <token>`.
 * In production (NODE_ENV=production) without a token it is off (404): the process's internals are never public there.
 */
import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { bearerKey } from '../auth/api-key.guard.js';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { Metrics } from './metrics.service.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly tokenDigest: Buffer | null;
  private readonly off: boolean;

  constructor(
    private readonly metrics: Metrics,
    config: AppConfig,
  ) {
    this.tokenDigest = config.metricsToken ? digest(config.metricsToken) : null;
    this.off = this.tokenDigest === null && config.env === 'production';
  }

  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    if (this.off) throw new ApiError(404, 'not_found', 'GET /metrics is off: set METRICS_TOKEN to enable it');
    if (this.tokenDigest) {
      const given = bearerKey(authorization);
      if (!given || !timingSafeEqual(digest(given), this.tokenDigest)) {
        throw new ApiError(401, 'unauthorized', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>');
      }
    }
    const body = await this.metrics.render();
    res.setHeader('Content-Type', this.metrics.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).send(body);
  }
}
