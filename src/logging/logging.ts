/**
 * Structured logs (pino through nestjs-pino) — JSON lines, or pretty lines on a terminal (LOG_FORMAT,
 * log-format.ts): one line per request with a request id, the tenant and the job id
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
import { JOB_ID_PATTERN } from '@jobstream/contracts';
import type { CommonConfig } from '../config/common.config.js';
import { traceFields } from '../tracing/tracing.js';
import { formattedDestination } from './log-format.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** A caller's request id is kept when it is this sane (no spaces, no control characters, bounded). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const REDACTED = '[redacted]';

/** Paths of the log record that are always censored (headers are lower-case in Node). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'req.headers["x-api-key"]',
  'req.query',
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

/**
 * Query parameter names whose values never reach a log line, judged on the name as the query parser sees it:
 * percent-decoded, case-folded, with any `[…]` suffix removed (`Access%5Ftoken[]`, `API_KEY[x]` …).
 */
const SECRET_PARAM_NAMES = new Set([
  'access_token',
  'share_token',
  'token',
  'api_key',
  'apikey',
  'api-key',
  'key',
  'secret',
  'client_secret',
  'password',
  'refresh_token',
  'id_token',
  'signature',
  'sig',
  'auth',
  'authorization',
]);
/** …and any name ending like these (`webhook_secret`, `x-api-key`, `sessionToken`). */
const SECRET_PARAM_SUFFIX = /(?:token|secret|password|passwd|api_?key|apikey|signature)$/;

/** Values that are secrets wherever they appear: stream tokens (`st1.<payload>.<sig>`), share tokens (`sh1_…`), webhook secrets, bearer keys. */
const SECRET_VALUES: readonly [RegExp, string][] = [
  [/\bst1\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?/g, REDACTED],
  // share link tokens (`sh1_<base64url>`); share ids (`shr_<ULID>`) are not secrets and stay readable
  [/\bsh1_[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bwhsec_[A-Za-z0-9+/=_-]{8,}/g, REDACTED],
  [/\b(Bearer|Basic)\s+[^\s",}]+/gi, `$1 ${REDACTED}`],
];

function decodeLoose(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** The name a query parser would file a parameter under, normalized for the secret check. */
function paramBase(rawName: string): string {
  const name = decodeLoose(rawName).toLowerCase().trim();
  const bracket = name.indexOf('[');
  return bracket > 0 ? name.slice(0, bracket) : name;
}

export function isSecretParam(rawName: string): boolean {
  const base = paramBase(rawName);
  return SECRET_PARAM_NAMES.has(base) || SECRET_PARAM_SUFFIX.test(base.replace(/[-_.\s]/g, ''));
}

/** Replaces secret-looking values anywhere in a text (log messages, headers, error texts). */
export function redactText(text: string): string {
  let out = text;
  for (const [re, by] of SECRET_VALUES) out = out.replace(re, by);
  return out;
}

/**
 * A URL for the log: every token-like query parameter's value replaced, in every shape the query parser accepts
 * (repeated keys, `name[]`, `name[x]`, percent-encoded or upper-case names), and secret-looking values anywhere.
 */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  if (q < 0) return redactText(url);
  const path = url.slice(0, q);
  const query = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      // a fragment or a nested '?' cannot hide a secret from the check: judge the name before it too
      if (eq >= 0 && isSecretParam(name.split(/[?#]/).pop() ?? name)) {
        // in a text ("GET /x?token=… 200") the URL ends at whitespace (a URL has none): keep what follows it
        const end = part.slice(eq + 1).search(/\s/);
        return `${name}=${REDACTED}${end < 0 ? '' : part.slice(eq + 1 + end)}`;
      }
      return part;
    })
    .join('&');
  return redactText(`${path}?${query}`);
}

/** Strings, arrays and plain objects with every secret-looking value redacted (bounded depth; others as they are). */
export function redactDeep(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.includes('?') ? redactUrl(v) : redactText(v);
  if (v === null || typeof v !== 'object' || depth > 6) return v;
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, depth + 1));
  if (v instanceof Error)
    return { type: v.name, message: redactDeep(v.message, depth + 1), stack: redactDeep(v.stack, depth + 1) };
  const proto = Object.getPrototypeOf(v) as unknown;
  // plain objects (Node's header objects have a prototype whose own prototype is null); class instances as they are
  if (proto !== Object.prototype && proto !== null && Object.getPrototypeOf(proto) !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    Object.defineProperty(out, k, {
      value: isSecretParam(k) && typeof x === 'string' ? REDACTED : redactDeep(x, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
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
export function loggerParams(
  config: Pick<CommonConfig, 'logLevel' | 'logFormat'>,
  destination?: DestinationStream,
  silent = false,
): Params {
  const level = silent ? 'silent' : (config.logLevel as Level | 'silent');
  return {
    pinoHttp: [
      {
        level,
        base: { service: 'jobstream' },
        timestamp: stdTimeFunctions.isoTime,
        redact: { paths: REDACT_PATHS, censor: REDACTED },
        // every log line, not only the request line: secret-looking values in any field or message are redacted
        formatters: {
          level: (label: string) => ({ level: label }),
          log: (obj: Record<string, unknown>) => redactDeep(obj) as Record<string, unknown>,
        },
        hooks: {
          logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void) {
            method.apply(
              this,
              args.map((a) => (typeof a === 'string' ? redactDeep(a) : a)),
            );
          },
        },
        // the active trace's ids on every line logged inside a span (nothing when tracing is off)
        mixin: traceFields,
        genReqId: (req, res) => requestIdOf(req, res),
        // app logs made while handling a request carry only reqId; the request line carries the request
        quietReqLogger: true,
        // ... as a field of the line (below), not as a child logger made per request: an open SSE stream held that
        // child — the request's JSON as chindings strings — for its whole life (bench/README.md "Per idle connection")
        quietResLogger: true,
        customSuccessObject: (req: IncomingMessage, _res: ServerResponse, val: Record<string, unknown>) => ({
          req,
          ...val,
        }),
        customErrorObject: (req: IncomingMessage, _res: ServerResponse, _err: Error, val: Record<string, unknown>) => ({
          req,
          ...val,
        }),
        customAttributeKeys: { reqId: 'req_id', responseTime: 'duration_ms' },
        // called when the request arrives and again when it ends: bind at the end only (the tenant is known then).
        // Nothing (undefined, not {}) on arrival: pino-http then makes no third child logger per request, which an
        // open SSE stream would hold for its whole life (a child logger makes its parent a prototype: own hidden
        // classes per request; bench/README.md "Per idle connection")
        customProps: ((req: IncomingMessage, res: ServerResponse) => {
          if (!res.headersSent && !res.destroyed) return undefined;
          const props: Record<string, string> = {};
          const tenant = (req as IncomingMessage & { tenant?: string }).tenant;
          if (tenant) props.tenant = tenant;
          // a create answers with the new job's Location: its request line names the job too
          const location = res.getHeader('location');
          const jobId = jobIdOfPath(req.url) ?? (typeof location === 'string' ? jobIdOfPath(location) : undefined);
          if (jobId) props.job_id = jobId;
          return props;
        }) as (req: IncomingMessage, res: ServerResponse) => Record<string, string>,
        customLogLevel: (_req, res, err) =>
          err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
        customSuccessMessage: (req, res) => `${req.method} ${redactUrl(req.url)} ${res.statusCode}`,
        customErrorMessage: (req, res) => `${req.method} ${redactUrl(req.url)} ${res.statusCode} failed`,
        // probes and scrapes are counted in the metrics; a line for each would drown the log
        autoLogging: { ignore: (req) => QUIET_PATHS.test(req.url ?? '') },
        serializers: {
          req: (req: {
            id: unknown;
            method: string;
            url: string;
            headers: Record<string, unknown>;
            remoteAddress?: string;
          }) => ({
            id: req.id,
            method: req.method,
            url: redactUrl(req.url),
            // a Referer (or any header) may carry a URL with a token in it
            headers: redactDeep(req.headers),
            remote_address: req.remoteAddress,
          }),
          res: (res: { statusCode: number }) => ({ status_code: res.statusCode }),
        },
      },
      // JSON lines, or pino-pretty's lines on a terminal (LOG_FORMAT; log-format.ts): redacted the same either way
      silent ? (destination ?? process.stdout) : formattedDestination(config.logFormat, destination),
    ] as Params['pinoHttp'],
  };
}

/** The Nest logger service over the app's pino logger (also used before Nest starts). */
export function createAppLogger(params: Params): LoggerService {
  return new NestPinoLogger(new PinoLogger(params), params);
}

/** The process's structured (pino, JSON) logger for Nest — the API's and the worker's alike. */
export function defaultLogger(
  config: Pick<CommonConfig, 'logLevel' | 'logFormat'>,
  destination?: DestinationStream,
): LoggerService {
  return createAppLogger(loggerParams(config, destination));
}
