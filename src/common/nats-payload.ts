/**
 * Validation of a NATS request payload (the JSON object a `jobstream.api.*` request carries): refused before parsing
 * (see nats-transport.ts), not an object, or not of the schema ⇒ a 400 `invalid_request` with a clear message.
 */
import type { z } from 'zod';
import { ApiError } from './api-error.js';
import { zodMessage } from './error-mapping.js';
import { RejectedPayload } from './nats-transport.js';

/** The payload as a JSON object, or the `invalid_request` that says why it is not one. */
export function payloadObject(payload: unknown): Record<string, unknown> {
  if (payload instanceof RejectedPayload) throw ApiError.invalid(payload.message);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw ApiError.invalid('the payload must be a JSON object');
  }
  return payload as Record<string, unknown>;
}

/** The payload parsed with `schema` (an object schema), or an `invalid_request` naming the fields at fault. */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.infer<S> {
  const res = schema.safeParse(payloadObject(payload));
  if (!res.success) throw ApiError.invalid(zodMessage(res.error));
  return res.data;
}
