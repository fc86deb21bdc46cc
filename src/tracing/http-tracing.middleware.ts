/**
 * One server span per HTTP request, continuing the caller's W3C `traceparent` (so a client's trace includes the
 * job it created), active for everything the request does. Named after the route template once it is known.
 */
import { Injectable, type NestMiddleware } from '@nestjs/common';
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { tracer } from './tracing.js';

@Injectable()
export class HttpTracingMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer().startSpan(
      `HTTP ${req.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'url.path': req.originalUrl.split('?')[0] },
      },
      parent,
    );
    if (!span.isRecording()) {
      context.with(trace.setSpan(parent, span), next);
      return;
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = (req.route as { path?: string } | undefined)?.path;
      const base = req.baseUrl ?? '';
      if (route) {
        span.setAttribute('http.route', base + route);
        span.updateName(`HTTP ${req.method} ${base + route}`);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  }
}
