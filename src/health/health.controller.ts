/**
 * Probes (public, no API key; not under /v1):
 * - GET /health/live — the process is up and serving HTTP;
 * - GET /health/ready — the engine's backing services answer (memory engine: always; NATS/JetStream/Redis each
 *   report through `Engine.health()`) and the process is not shutting down. 503 otherwise.
 * Bodies are Terminus's `{ status, info, error, details }`. A service that is down is reported with a fixed message
 * (`unavailable`, or `no answer` for a timeout): the raw error names internal hosts and ports, so it goes to the log
 * (once per change), never into the public body.
 */
import { Controller, Get, Inject, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import type { Response } from 'express';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ApiExcludeController } from '@nestjs/swagger';
import { ENGINE } from '../engine/engine.constants.js';
import type { Engine } from '../engine/engine.js';
import { ShutdownService } from '../lifecycle/shutdown.service.js';

const CHECK_TIMEOUT_MS = 3_000;
/** The public message of a service that is down. */
export const DOWN_MESSAGE = 'unavailable';
const TIMEOUT_MESSAGE = 'no answer';

class CheckTimeout extends Error {}

@ApiExcludeController()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');
  /** The last detail logged per service (logged again only when it changes; probes come every few seconds). */
  private readonly logged = new Map<string, string>();

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
      this.noteDown('engine', err instanceof Error ? err.message : String(err));
      return this.indicators
        .check('engine')
        .down({ kind: this.engine.kind, message: err instanceof CheckTimeout ? TIMEOUT_MESSAGE : DOWN_MESSAGE });
    }
    const result: HealthIndicatorResult = {};
    for (const [name, h] of Object.entries(report)) {
      const s = this.indicators.check(name);
      if (h.up) {
        this.logged.delete(name);
        Object.assign(result, s.up(h.message ? { message: h.message } : {}));
      } else {
        this.noteDown(name, h.message ?? '');
        Object.assign(result, s.down({ message: DOWN_MESSAGE }));
      }
    }
    if (!('engine' in report)) this.logged.delete('engine');
    return result;
  }

  /** The raw reason a service is down, for the operator's log (not the public body), once per change. */
  private noteDown(name: string, detail: string): void {
    if (this.logged.get(name) === detail) return;
    this.logged.set(name, detail);
    this.logger.warn({ msg: 'readiness: a backing service is down', service: name, detail });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}
