/**
 * `?types=` — a client asks for some event types only (e.g. `token,done`) on the stream and on `/events`.
 *
 * - terminal events (`done`, `error`, `cancelled`) are always included, so every filtered stream still ends;
 * - events keep their global `seq` and cursor, so a filtered view has expected gaps and a cursor from it resumes
 *   the same filtered view exactly (filtering is a per-event predicate over the job's one ordered log);
 * - the response says which types it carries in `X-Jobstream-Filter` (the effective list, in the contract's order).
 */
import { EVENT_TYPES, TERMINAL_EVENT_TYPES, type EventType } from '@jobstream/contracts';
import { ApiError } from '../../common/api-error.js';

export const FILTER_HEADER = 'X-Jobstream-Filter';
/** Longest accepted `types` value (every type name once, comma separated, is well under this). */
export const TYPES_PARAM_MAX_CHARS = 512;

export interface EventFilter {
  /** The effective types (asked + terminal), in {@link EVENT_TYPES} order. */
  readonly types: readonly EventType[];
  allows(type: string): boolean;
  /** The `X-Jobstream-Filter` header value. */
  readonly header: string;
}

/** Parses `?types=` (absent ⇒ null, no filter). Unknown or empty entries ⇒ 400 `invalid_request`. */
export function parseEventFilter(raw: string | string[] | undefined): EventFilter | null {
  if (raw === undefined) return null;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (value.length > TYPES_PARAM_MAX_CHARS)
    throw ApiError.invalid(`types must be at most ${TYPES_PARAM_MAX_CHARS} characters`);
  const names = value.split(',').map((s) => s.trim());
  if (names.every((n) => n === ''))
    throw ApiError.invalid(`types must list at least one event type (${EVENT_TYPES.join(', ')})`);
  const wanted = new Set<string>(TERMINAL_EVENT_TYPES);
  for (const n of names) {
    if (n === '') continue;
    if (!(EVENT_TYPES as readonly string[]).includes(n)) {
      throw ApiError.invalid(`types: unknown event type "${n.slice(0, 40)}" (known: ${EVENT_TYPES.join(', ')})`);
    }
    wanted.add(n);
  }
  const types = EVENT_TYPES.filter((t) => wanted.has(t));
  return { types, allows: (type) => wanted.has(type), header: types.join(',') };
}
