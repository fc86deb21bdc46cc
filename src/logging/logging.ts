/**
 * Structured JSON logs (pino through nestjs-pino): one line per request with a request id, the tenant and the job id
 * when the request concerns a job; secrets redacted. Nest's own logs and every `Logger` in the app go to the same
 * pino logger, so `logger.log({ msg, job_id, tenant })` comes out as fields.
 *
 * nestjs-pino keeps ONE root pino logger per process (the first app built decides it); one API app per process is
 * the production shape, and the tests boot their apps with LOG_LEVEL=silent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import { Logger as NestPinoLogger, PinoLogger, type Params } from 'nestjs-pino';
import { stdTimeFunctions, type DestinationStream, type Level } from 'pino';
import { JOB_ID_PATTERN } from '../../libs/contracts/src/index.js';
import type { AppConfig } from '../config/config.js';
import { traceFields } from '../tracing/tracing.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** A caller's request id is kept when it is this sane (no spaces, no control characters, bounded). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;
/** Query parameters whose values never reach a log line. */
const SECRET_PARAMS = /([?&](?:access_token|share_token|token|api_key|apikey|key)=)[^&#]*/gi;
const REDACTED = '[redacted]';

/** Paths of the log record that are always censored (headers are lower-case in Node). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'req.headers["x-api-key"]',
  'req.query.access_token',
  'req.query.share_token',
  'res.headers["set-cookie"]',
  'authorization',
  'access_token',
  'share_token',
  'token',
  'api_key',
  'apiKey',
  '*.authorization',
  '*.access_token',
  '*.share_token',
  '*.token',
  '*.api_key',
  '*.apiKey',
  '*.password',
  // webhook signing secrets (whsec_…)
  'secret',
  '*.secret',
];

export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(SECRET_PARAMS, `$1${REDACTED}`);
}

export function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** The job a request concerns, from its path (`/v1/jobs/:id/...`), without relying on the router's state. */
export function jobIdOfPath(url: string | undefined): string | undefined {
  const m = /^\/v1\/jobs\/([^/?#]+)/.exec(url ?? '');
  return m && JOB_ID_PATTERN.test(m[1]!) ? m[1] : undefined;
}

const QUIET_PATHS = /^\/(?:health\/(?:live|ready)|metrics)(?:[/?#]|$)/;

/** nestjs-pino / pino-http parameters for this app. */
export function loggerParams(config: AppConfig, destination?: DestinationStream, silent = false): Params {
  const level = silent ? 'silent' : (config.logLevel as Level | 'silent');
  return {
    pinoHttp: [
      {
        level,
        base: { service: 'jobstream' },
        timestamp: stdTimeFunctions.isoTime,
        formatters: { level: (label: string) => ({ level: label }) },
        redact: { paths: REDACT_PATHS, censor: REDACTED },
        // the active trace's ids on every line logged inside a span (nothing when tracing is off)
        mixin: traceFields,
        genReqId: (req, res) => requestIdOf(req, res),
        // app logs made while handling a request carry only reqId; the request line carries the request
        quietReqLogger: true,
        customAttributeKeys: { reqId: 'req_id', responseTime: 'duration_ms' },
        // called when the request arrives and again when it ends: bind at the end only (the tenant is known then)
        customProps: (req, res) => {
          const props: Record<string, string> = {};
          if (!res.headersSent && !res.destroyed) return props;
          const tenant = (req as IncomingMessage & { tenant?: string }).tenant;
          if (tenant) props.tenant = tenant;
          // a create answers with the new job's Location: its request line names the job too
          const location = res.getHeader('location');
          const jobId = jobIdOfPath(req.url) ?? (typeof location === 'string' ? jobIdOfPath(location) : undefined);
          if (jobId) props.job_id = jobId;
          return props;
        },
        customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
        customSuccessMessage: (req, res) => `${req.method} ${redactUrl(req.url)} ${res.statusCode}`,
        customErrorMessage: (req, res) => `${req.method} ${redactUrl(req.url)} ${res.statusCode} failed`,
        // probes and scrapes are counted in the metrics; a line for each would drown the log
        autoLogging: { ignore: (req) => QUIET_PATHS.test(req.url ?? '') },
        serializers: {
          req: (req: { id: unknown; method: string; url: string; headers: Record<string, unknown>; remoteAddress?: string }) => ({
            id: req.id,
            method: req.method,
            url: redactUrl(req.url),
            headers: req.headers,
            remote_address: req.remoteAddress,
          }),
          res: (res: { statusCode: number }) => ({ status_code: res.statusCode }),
        },
      },
      destination ?? process.stdout,
    ] as Params['pinoHttp'],
  };
}

/** The Nest logger service over the app's pino logger (also used before Nest starts). */
export function createAppLogger(params: Params): LoggerService {
  return new NestPinoLogger(new PinoLogger(params), params);
}
