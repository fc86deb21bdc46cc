/**
 * A stored event read back from the log as JSON, parsed lazily: the hot paths read only `seq`, `type` and `job_id`
 * from the envelope's fixed prefix and reuse the stored JSON as is. Details: docs/internals.md.
 */
import { EVENT_TYPES, type EventType, type JobEvent } from '@jobstream/contracts';
import type { LoggedEvent } from './event-log.port.js';

export interface Envelope {
  jobId: string;
  seq: number;
  type: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const BRACE_CLOSE = 0x7d;

/**
 * Index of the closing quote of a JSON string whose content starts at `from`, or -1 when the string has an escape
 * (an escaped quote would end it elsewhere) or does not end. Walks only the string itself (short: an id, a time).
 */
function plainStringEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c === BACKSLASH) return -1;
  }
  return -1;
}

/** Where {@link plainIntAt} stopped (the comma after the number). */
let intEnd = 0;

/**
 * A plain non-negative integer at `from` as `JSON.stringify` writes it (no sign, no leading zero, no fraction or
 * exponent, ≤ 15 digits), followed by a comma (its index in {@link intEnd}); -1 when it is anything else.
 */
function plainIntAt(s: string, from: number): number {
  let v = 0;
  let i = from;
  for (; i - from <= 15; i++) {
    const c = s.charCodeAt(i) - 48; // NaN past the end: not a digit
    if (!(c >= 0 && c <= 9)) break;
    v = v * 10 + c;
  }
  const n = i - from;
  if (n === 0 || n > 15 || (n > 1 && s.charCodeAt(from) === 48) || s.charCodeAt(i) !== COMMA) return -1;
  intEnd = i;
  return v;
}

/** The contract's type names, so the usual types are the shared constants, not a fresh slice per event. */
const TYPES: readonly string[] = EVENT_TYPES;

function typeAt(s: string, from: number, end: number): string {
  const len = end - from;
  for (const t of TYPES) if (t.length === len && s.startsWith(t, from)) return t;
  return s.slice(from, end);
}

/** What {@link scanInto} read. */
interface Scan {
  jobId: string;
  seq: number;
  type: string;
}

/** {@link scanEnvelope} into `out` (no object per event); false when the fast path does not apply. */
function scanInto(json: string, out: Scan): boolean {
  if (json.charCodeAt(json.length - 1) !== BRACE_CLOSE || !json.startsWith('{"job_id":"')) return false;
  let end = plainStringEnd(json, 11);
  if (end < 0 || !json.startsWith(',"seq":', end + 1)) return false;
  const jobEnd = end;
  const seq = plainIntAt(json, end + 8);
  if (seq < 0 || !json.startsWith(',"ts":"', intEnd)) return false;
  end = plainStringEnd(json, intEnd + 7);
  if (end < 0 || !json.startsWith(',"attempt":', end + 1)) return false;
  if (plainIntAt(json, end + 12) < 0 || !json.startsWith(',"type":"', intEnd)) return false;
  const typeFrom = intEnd + 9;
  end = plainStringEnd(json, typeFrom);
  if (end < 0) return false;
  const after = json.charCodeAt(end + 1);
  if (after !== COMMA && after !== BRACE_CLOSE) return false;
  out.jobId = json.slice(11, jobEnd);
  out.seq = seq;
  out.type = typeAt(json, typeFrom, end);
  return true;
}

/**
 * `job_id`, `seq` and `type` of a stored event's JSON, read from its fixed envelope prefix; null when the string
 * does not have exactly that shape (the caller then parses it in full). Never disagrees with `JSON.parse` on JSON
 * written by `JSON.stringify` (no key twice; property-tested against it).
 */
export function scanEnvelope(json: string): Envelope | null {
  const out: Scan = { jobId: '', seq: 0, type: '' };
  return scanInto(json, out) ? out : null;
}

const scratch: Scan = { jobId: '', seq: 0, type: '' };

/**
 * A {@link LoggedEvent} backed by its stored JSON: `seq`, `type` and `jobId` at hand, the full event parsed on first
 * access to {@link event} (at once when the JSON does not have the envelope's fixed shape).
 */
export class StoredEvent implements LoggedEvent {
  readonly seq: number;
  readonly type: EventType;
  readonly jobId: string;
  #event: JobEvent | undefined;
  #rendered: string | undefined;

  constructor(
    readonly json: string,
    readonly pos: number,
    /** The event, when the caller has it already (an append): never parsed again. */
    event?: JobEvent,
  ) {
    if (event === undefined && scanInto(json, scratch)) {
      this.seq = scratch.seq;
      this.type = scratch.type as EventType;
      this.jobId = scratch.jobId;
      return;
    }
    const e = event ?? (JSON.parse(json) as JobEvent);
    this.#event = e;
    this.seq = e.seq;
    this.type = e.type;
    this.jobId = e.job_id;
  }

  get event(): JobEvent {
    return (this.#event ??= JSON.parse(this.json) as JobEvent);
  }

  /**
   * A rendering of the event its consumer memoizes on it (the API's SSE frame: built once per process and shared by
   * every client; a field instead of a WeakMap entry per event).
   */
  get rendered(): string | undefined {
    return this.#rendered;
  }

  set rendered(r: string | undefined) {
    this.#rendered = r;
  }

  /** Parsed already (for tests and the bench). */
  get parsed(): boolean {
    return this.#event !== undefined;
  }
}
