/**
 * Probes (public, no API key; not under /v1):
 * - GET /health/live — the process is up and serving HTTP;
 * - GET /health/ready — the engine's backing services answer (memory engine: always; NATS/JetStream/Redis each
 *   report through `Engine.health()`) and the process is not shutting down. 503 otherwise.
 * Bodies are Terminus's `{ status, info, error, details }`.
 */
import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import type { Response } from 'express';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ApiExcludeController } from '@nestjs/swagger';
import { ENGINE } from '../engine/engine.constants.js';
import type { Engine } from '../engine/engine.js';
import { ShutdownService } from '../lifecycle/shutdown.service.js';

const CHECK_TIMEOUT_MS = 3_000;

@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(ENGINE) private readonly engine: Engine,
    private readonly shutdown: ShutdownService,
  ) {}

  @Get('live')
  @HealthCheck()
  live(@Res({ passthrough: true }) res: Response) {
    return this.report(res, [
      () => this.indicators.check('process').up({ pid: process.pid, uptime_s: Math.floor(process.uptime()) }),
    ]);
  }

  @Get('ready')
  @HealthCheck()
  ready(@Res({ passthrough: true }) res: Response) {
    return this.report(res, [
      () =>
        this.shutdown.draining ? this.indicators.check('api').down('shutting down') : this.indicators.check('api').up(),
      () => this.engineHealth(),
    ]);
  }

  /** Terminus's report, also when unhealthy (503 with the same body, not the API's error shape). */
  private async report(res: Response, checks: Parameters<HealthCheckService['check']>[0]) {
    res.setHeader('Cache-Control', 'no-store');
    try {
      return await this.health.check(checks);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      res.status(503);
      return err.getResponse();
    }
  }

  /** One indicator per backing service the engine reports (e.g. `engine`, or `nats`, `jetstream`, `redis`). */
  private async engineHealth(): Promise<HealthIndicatorResult> {
    let report: Record<string, { up: boolean; message?: string }>;
    try {
      report = await withTimeout(this.engine.health(), CHECK_TIMEOUT_MS);
    } catch (err) {
      return this.indicators
        .check('engine')
        .down({ kind: this.engine.kind, message: err instanceof Error ? err.message : String(err) });
    }
    const result: HealthIndicatorResult = {};
    for (const [name, h] of Object.entries(report)) {
      const s = this.indicators.check(name);
      Object.assign(
        result,
        h.up ? s.up(h.message ? { message: h.message } : {}) : s.down(h.message ? { message: h.message } : {}),
      );
    }
    return result;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}
