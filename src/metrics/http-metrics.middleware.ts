/**
 * Times every HTTP request into `jobstream_http_request_duration_seconds`, labelled by the route TEMPLATE
 * (`/v1/jobs/:id`), never the raw URL with ids; requests no route matched are `unmatched`. SSE responses are left
 * out: they last as long as the stream and have their own metrics.
 */
import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Metrics } from './metrics.service.js';

@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: Metrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const start = process.hrtime.bigint();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const type = res.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('text/event-stream')) return;
      const path = (req.route as { path?: unknown } | undefined)?.path;
      // no route, or only the catch-all a middleware is mounted on (`{/*splat}`): no handler matched
      const route = typeof path === 'string' && !path.includes('*') ? `${req.baseUrl ?? ''}${path}` : 'unmatched';
      this.metrics.httpRequest(req.method, route, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  }
}
