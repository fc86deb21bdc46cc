/**
 * How the `openai` agent classifies a provider failure into the `error` event's `code` and `retryable`.
 *
 * `retryable: true` means "the same request may well succeed later" (rate limits, overload, 5xx, network, timeouts,
 * a cut stream); `false` means retrying the same request is pointless (bad request, bad key, unknown model, quota
 * exhausted, content filtered). The table lives in docs/agents.md; keep both in step.
 */
import { JSONParseError, TypeValidationError } from '@ai-sdk/provider';

export interface ProviderFailure {
  code: string;
  message: string;
  retryable: boolean;
}

/** OpenAI's error object, as found in `{ "error": { message, type, code, param } }` (HTTP bodies and mid-stream). */
export interface ProviderErrorObject {
  message?: string;
  type?: string;
  code?: string | number | null;
}

/** HTTP statuses worth retrying: timeout, conflict, too early, rate limited, and every 5xx. */
const RETRYABLE_HTTP = new Set([408, 409, 425, 429]);

/** Error `type`s / `code`s (OpenAI and common compatible servers) that describe a transient condition. */
const TRANSIENT_KINDS = new Set([
  'server_error',
  'api_error',
  'internal_error',
  'internal_server_error',
  'service_unavailable',
  'overloaded',
  'overloaded_error',
  'rate_limit_exceeded',
  'rate_limit_error',
  'requests',
  'tokens',
  'timeout',
  'timeout_error',
]);

/** Kinds that are never transient even when they arrive with a "transient" HTTP status (OpenAI sends 429 for these). */
const PERMANENT_KINDS = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active']);

const MAX_MESSAGE = 1000;

/** Extracts OpenAI's error object from a parsed body: `{ error: {…} }` or `{ error: "text" }`; undefined if none. */
export function errorObjectOf(body: unknown): ProviderErrorObject | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const err = (body as { error: unknown }).error;
  if (typeof err === 'string') return { message: err };
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const o = err as Record<string, unknown>;
  return {
    message: typeof o['message'] === 'string' ? o['message'] : undefined,
    type: typeof o['type'] === 'string' ? o['type'] : undefined,
    code: typeof o['code'] === 'string' || typeof o['code'] === 'number' ? o['code'] : undefined,
  };
}

function kinds(err: ProviderErrorObject | undefined): string[] {
  return [err?.type, typeof err?.code === 'string' ? err.code : undefined].filter((k): k is string => !!k);
}

function describe(err: ProviderErrorObject | undefined): string {
  const ks = kinds(err);
  const tag = ks.length ? ` [${[...new Set(ks)].join('/')}]` : '';
  return `${err?.message ?? 'no message'}${tag}`;
}

/** A non-2xx answer. `bodyText` is the (capped) response body, parsed as OpenAI's error JSON when it is one. */
export function httpFailure(status: number, bodyText: string): ProviderFailure {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const err = errorObjectOf(parsed) ?? (bodyText.trim() ? { message: bodyText.trim().slice(0, 300) } : undefined);
  const permanent = kinds(err).some((k) => PERMANENT_KINDS.has(k));
  return {
    code: `provider_http_${status}`,
    message: `provider answered HTTP ${status}: ${describe(err)}`,
    retryable: !permanent && (status >= 500 || RETRYABLE_HTTP.has(status)),
  };
}

/** An error object that arrived inside the stream, after the 200 (`data: {"error": {…}}`). */
export function streamErrorFailure(err: ProviderErrorObject): ProviderFailure {
  const ks = kinds(err);
  const numeric = typeof err.code === 'number' ? err.code : undefined;
  const retryable =
    !ks.some((k) => PERMANENT_KINDS.has(k)) &&
    (ks.some((k) => TRANSIENT_KINDS.has(k)) ||
      (numeric !== undefined && (numeric >= 500 || RETRYABLE_HTTP.has(numeric))));
  return { code: 'provider_error', message: `provider failed mid-stream: ${describe(err)}`, retryable };
}

export function unreachableFailure(err: unknown, host: string): ProviderFailure {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail =
    typeof cause?.code === 'string'
      ? cause.code
      : typeof cause?.message === 'string'
        ? cause.message
        : String((err as Error)?.message ?? err);
  return {
    code: 'provider_unreachable',
    message: `could not reach the provider at ${host}: ${detail}`,
    retryable: true,
  };
}

export function timeoutFailure(ms: number, phase: 'response' | 'stream'): ProviderFailure {
  return {
    code: 'provider_timeout',
    message:
      phase === 'response'
        ? `no response from the provider within ${ms} ms`
        : `the provider's stream stalled for ${ms} ms`,
    retryable: true,
  };
}

export function truncatedFailure(detail: string): ProviderFailure {
  return {
    code: 'provider_stream_truncated',
    message: `the provider's stream ended early: ${detail}`,
    retryable: true,
  };
}

export function badResponseFailure(detail: string): ProviderFailure {
  return {
    code: 'provider_bad_response',
    message: `the provider's response is not a valid chat-completions stream: ${detail}`,
    retryable: false,
  };
}

/** Removes the API key wherever it appears and caps the length: error messages reach clients. */
export function sanitizeMessage(message: string, secret: string | undefined): string {
  let m = message;
  if (secret && secret.length >= 4) m = m.split(secret).join('[redacted]');
  return m.length > MAX_MESSAGE ? `${m.slice(0, MAX_MESSAGE)}…` : m;
}

/** A 200 with a JSON body instead of a stream: an error object, or a server that ignored `stream: true`. */
export function nonStreamFailure(text: string): ProviderFailure {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return badResponseFailure('a 200 whose body is neither an event stream nor JSON');
  }
  const err = errorObjectOf(json);
  return err
    ? streamErrorFailure(err)
    : badResponseFailure('a JSON body instead of a stream (does the server support stream: true?)');
}

/**
 * An `error` part of the AI SDK's stream: a `data:` line that is not JSON, a chunk of the wrong shape (maybe an
 * error object the SDK's schema does not know, e.g. `{"error": "text"}`), or the error object of a chunk.
 */
export function streamPartFailure(error: unknown): ProviderFailure {
  if (JSONParseError.isInstance(error)) {
    return badResponseFailure(`a data line is not JSON: ${error.text.slice(0, 120)}`);
  }
  if (TypeValidationError.isInstance(error)) {
    const err = errorObjectOf(error.value);
    if (err) return streamErrorFailure(err);
    const cause = error.cause instanceof Error ? error.cause.message : '';
    return badResponseFailure(`unexpected chunk shape: ${cause.slice(0, 300)}`);
  }
  return streamErrorFailure(errorObjectOf({ error }) ?? {});
}
