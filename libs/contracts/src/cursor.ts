/**
 * Event cursors: the SSE `id` and the `after` parameter.
 *
 * Opaque to clients, but built as `<seq>-<pos>-<tag>`:
 * - `seq`: the event's dense per-job sequence (so ids are monotonic within a job),
 * - `pos`: the event log's own position of the event (JetStream stream sequence, memory-log counter), so a
 *   resume starts right after it without scanning the job's earlier events,
 * - `tag`: a short hash of the job id, so a cursor handed to another job is refused as foreign.
 *
 * `0` (or an empty value) means "before the first event".
 */

export interface EventPosition {
  /** Dense per-job sequence, 1-based. */
  seq: number;
  /** Driver-defined log position, strictly increasing with seq within a job. */
  pos: number;
}

export const START: Readonly<EventPosition> = Object.freeze({ seq: 0, pos: 0 });

export type CursorProblem = 'malformed' | 'foreign';

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  constructor(
    readonly problem: CursorProblem,
    message: string,
  ) {
    super(message);
  }
}

/** FNV-1a 32-bit of the job id, base36, 6 chars. */
export function jobTag(jobId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < jobId.length; i++) {
    h ^= jobId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36).padStart(7, '0').slice(-6);
}

/** Tags of recent jobs: a stream formats one cursor per event, all with its job's tag. */
const tags = new Map<string, string>();
function tagOf(jobId: string): string {
  let t = tags.get(jobId);
  if (t === undefined) {
    if (tags.size >= 10_000) tags.clear();
    t = jobTag(jobId);
    tags.set(jobId, t);
  }
  return t;
}

/** The cursor of an event of `jobId` at `p`: the one formatter of cursors (SSE ids, `after`, `last_event_id`). */
export function encodeCursor(jobId: string, p: EventPosition): string {
  return `${p.seq}-${p.pos}-${tagOf(jobId)}`;
}

const CURSOR_RE = /^(\d{1,15})-(\d{1,15})-([0-9a-z]{6})$/;

/** Parses a cursor for `jobId`. Empty / `0` ⇒ {@link START}. Throws {@link InvalidCursorError}. */
export function decodeCursor(jobId: string, raw: string | null | undefined): EventPosition {
  if (raw === undefined || raw === null) return START;
  const s = raw.trim();
  if (s === '' || s === '0') return START;
  const m = CURSOR_RE.exec(s);
  if (!m) throw new InvalidCursorError('malformed', `malformed cursor "${s.slice(0, 64)}"`);
  const seq = Number(m[1]);
  const pos = Number(m[2]);
  if (seq < 1 || pos < 1 || !Number.isSafeInteger(seq) || !Number.isSafeInteger(pos)) {
    throw new InvalidCursorError('malformed', `malformed cursor "${s}"`);
  }
  if (m[3] !== tagOf(jobId)) throw new InvalidCursorError('foreign', `cursor "${s}" does not belong to job ${jobId}`);
  return { seq, pos };
}
