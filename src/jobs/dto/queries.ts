/** Query-string schemas (values arrive as strings). */
import { z } from 'zod';
import { JOB_STATUSES } from '@jobstream/contracts';
import {
  EVENTS_LIMIT_DEFAULT,
  EVENTS_LIMIT_MAX,
  LIST_LIMIT_DEFAULT,
  LIST_LIMIT_MAX,
  WAIT_TIMEOUT_DEFAULT_S,
  WAIT_TIMEOUT_MAX_S,
} from '../jobs.constants.js';

const intParam = (name: string, min: number, max: number, def: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return Number(v);
    });

const single = z.preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), z.string().optional());

export const listQuerySchema = z.object({
  status: z.preprocess((v) => (v === '' ? undefined : v), z.enum(JOB_STATUSES).optional()),
  limit: z.preprocess(
    (v) => (Array.isArray(v) ? v[v.length - 1] : v),
    intParam('limit', 1, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT),
  ),
  cursor: single,
});
export type ListQuery = z.infer<typeof listQuerySchema>;

/** `?types=a,b` or `?types=a&types=b`: parsed and checked by `parseEventFilter` (stream-formats/event-filter.ts). */
const typesParam = z.union([z.string(), z.array(z.string())]).optional();

const boolParam = (name: string) =>
  z.preprocess(
    (v) => (Array.isArray(v) ? v[v.length - 1] : v),
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v === '' || v === 'false' || v === '0') return false;
        if (v === 'true' || v === '1') return true;
        ctx.addIssue({ code: 'custom', message: `${name} must be true or false` });
        return z.NEVER;
      }),
  );

export const STREAM_FORMATS = ['sse', 'ai-sdk', 'ag-ui'] as const;

export const eventsQuerySchema = z.object({
  after: single,
  types: typesParam,
  limit: z.preprocess(
    (v) => (Array.isArray(v) ? v[v.length - 1] : v),
    intParam('limit', 1, EVENTS_LIMIT_MAX, EVENTS_LIMIT_DEFAULT),
  ),
});
export type EventsQuery = z.infer<typeof eventsQuerySchema>;

export const waitQuerySchema = z.object({
  timeout_s: z.preprocess(
    (v) => (Array.isArray(v) ? v[v.length - 1] : v),
    intParam('timeout_s', 0, WAIT_TIMEOUT_MAX_S, WAIT_TIMEOUT_DEFAULT_S),
  ),
});
export type WaitQuery = z.infer<typeof waitQuerySchema>;

export const streamQuerySchema = z.object({
  after: single,
  snapshot: boolParam('snapshot'),
  types: typesParam,
  format: z.preprocess(
    (v) => (Array.isArray(v) ? v[v.length - 1] : v === '' ? undefined : v),
    z.enum(STREAM_FORMATS, { message: `format must be one of: ${STREAM_FORMATS.join(', ')}` }).default('sse'),
  ),
});
export type StreamQuery = z.infer<typeof streamQuerySchema>;

export const snapshotQuerySchema = z.object({ at: single });
export type SnapshotQuery = z.infer<typeof snapshotQuerySchema>;
