/**
 * What a NATS / JetStream failure means, whichever nats.js v3 error class carries it (following `cause`, as
 * `RequestError` wraps the real one): a timeout, no responders, a closed connection, or a JetStream API error with its
 * `{ code, err_code, description }`. The lean request paths (libs/event-log) reject with the same classes.
 */
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  ProtocolError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { JetStreamApiError, JetStreamError, type ApiError } from '@nats-io/jetstream';

export type { ApiError as JsApiError } from '@nats-io/jetstream';
export { ClosedConnectionError, NoRespondersError, TimeoutError, JetStreamApiError };

/**
 * The error classes of nats.js (core and JetStream) that say the broker cannot serve now (`JetStreamError` covers
 * its status errors, `JetStreamApiError` its not-found subclasses). Its argument and permission errors are not
 * here: those are bugs or configuration, not an outage.
 */
const NATS_OUTAGE_CLASSES: readonly (abstract new (...args: never[]) => Error)[] = [
  ClosedConnectionError,
  DrainingConnectionError,
  ConnectionError,
  ProtocolError,
  RequestError,
  TimeoutError,
  NoRespondersError,
  JetStreamError,
  JetStreamApiError,
];
/** nats.js does not export the class of "JetStream is not enabled" (its name is all there is). */
const JETSTREAM_NOT_ENABLED = 'JetStreamNotEnabled';

/** `err` and its causes (at most 5 deep). */
function* chain(err: unknown): Generator<Error> {
  for (let e = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) yield e;
}

/** The JetStream API error an error carries (`{ code, err_code, description }`), if any. */
export function jsApiError(err: unknown): ApiError | undefined {
  for (const e of chain(err)) if (e instanceof JetStreamApiError) return e.apiError();
  return undefined;
}

/** A JetStream API error (`{ error: … }` of a reply) as the error nats.js throws for it. */
export function toJsApiError(e: { code: number; err_code?: number; description?: string }): JetStreamApiError {
  return new JetStreamApiError({ code: e.code, err_code: e.err_code ?? 0, description: e.description ?? '' });
}

/** No answer within the request's timeout. */
export function isNatsTimeout(err: unknown): boolean {
  for (const e of chain(err)) if (e instanceof TimeoutError || e.name === 'TimeoutError') return true;
  return false;
}

/** Nobody listens on the subject (no stream for it, JetStream down): a 503 status. */
export function isNoResponders(err: unknown): boolean {
  for (const e of chain(err)) if (e instanceof NoRespondersError || e.name === 'NoResponders') return true;
  return false;
}

/** The connection is closed (or draining) for good. */
export function isConnectionClosed(err: unknown): boolean {
  for (const e of chain(err)) {
    if (e instanceof ClosedConnectionError || e instanceof DrainingConnectionError) return true;
  }
  return false;
}

/** A 404 of the JetStream API: no such message, stream or consumer. */
export function isJsNotFound(err: unknown): boolean {
  const api = jsApiError(err);
  if (api) return api.code === 404 || api.err_code === 10037 || api.err_code === 10059 || api.err_code === 10014;
  for (const e of chain(err))
    if ((e as { code?: unknown }).code === 404 && e.name === 'JetStreamStatusError') return true;
  return false;
}

/** Any error of the NATS client (the broker cannot serve now, or refused a JetStream request). */
export function isNatsError(err: unknown): boolean {
  for (const e of chain(err)) if (isNatsClass(e)) return true;
  return false;
}

function isNatsClass(e: Error): boolean {
  return NATS_OUTAGE_CLASSES.some((c) => e instanceof c) || e.name === JETSTREAM_NOT_ENABLED;
}

/** A short label for logs and messages: `TIMEOUT`, `503`, `CLOSED`, `api 10071`, or the error's name. */
export function natsErrorLabel(err: unknown): string | undefined {
  if (isNatsTimeout(err)) return 'TIMEOUT';
  if (isNoResponders(err)) return '503';
  if (isConnectionClosed(err)) return 'CONNECTION_CLOSED';
  const api = jsApiError(err);
  if (api) return `${api.code}${api.err_code ? `/${api.err_code}` : ''}`;
  return err instanceof Error && isNatsClass(err) ? err.name : undefined;
}
