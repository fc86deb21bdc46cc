/**
 * A stored event read back from the log as JSON, parsed lazily.
 *
 * The hot paths (replay, live fan-out) need only an event's `seq`, `type` and `job_id` (ordering, terminal
 * detection, the SSE `id` and `event` lines); the frame reuses the stored JSON as is. Every stored event was written by
 * {@link stampEvent} + `JSON.stringify`, which emits the envelope first in a fixed order —
 * `{"job_id":…,"seq":…,"ts":…,"attempt":…,"type":…` (the body comes from zod, which outputs `type` first) — so
 * {@link scanEnvelope} reads those three from the start of the string without parsing the rest. It accepts only that
 * exact shape (plain strings without escapes, plain non-negative integers); anything else (another key order, escapes,
 * a foreign writer) returns null and the event is parsed in full at once. The full event ({@link StoredEvent.event})
 * is parsed on first access only, where a path needs more (snapshot reduction, formats, filters).
 *
 * What the fast path does not check: that the rest of the JSON is well formed. Only our own appends write to the
 * log's subjects; a malformed event then fails where its body is first needed instead of at the read.
 */
import type { EventType, JobEvent } from '@jobstream/contracts';
import type { LoggedEvent } from './event-log.port.js';

export interface Envelope {
  jobId: string;
  seq: number;
  type: string;
}

const COMMA = 0x2c;
const BRACE_CLOSE = 0x7d;

/** End (index of the closing quote) of a JSON string starting at `from` (after its opening quote) without escapes. */
function plainStringEnd(s: string, from: number): number {
  const q = s.indexOf('"', from);
  if (q < 0) return -1;
  // an escape anywhere in it (an escaped quote would also end the search early): not the fast path
  const b = s.indexOf('\\', from);
  return b >= 0 && b < q ? -1 : q;
}

/**
 * A plain non-negative integer at `from` as `JSON.stringify` writes it (no sign, no leading zero, no fraction or
 * exponent, ≤ 15 digits), followed by a comma. Returns [value, index of the comma] or null.
 */
function plainIntAt(s: string, from: number): [number, number] | null {
  let v = 0;
  let i = from;
  for (; i < s.length && i - from <= 15; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
  }
  const n = i - from;
  if (n === 0 || n > 15 || (n > 1 && s.charCodeAt(from) === 48) || s.charCodeAt(i) !== COMMA) return null;
  return [v, i];
}

/**
 * `job_id`, `seq` and `type` of a stored event's JSON, read from its fixed envelope prefix; null when the string
 * does not have exactly that shape (the caller then parses it in full). Never disagrees with `JSON.parse` on
 * JSON written by `JSON.stringify` (property-tested against it).
 */
export function scanEnvelope(json: string): Envelope | null {
  if (!json.startsWith('{"job_id":"') || json.charCodeAt(json.length - 1) !== BRACE_CLOSE) return null;
  let i = 11;
  let end = plainStringEnd(json, i);
  if (end < 0) return null;
  const jobId = json.slice(i, end);
  if (!json.startsWith(',"seq":', end + 1)) return null;
  const seq = plainIntAt(json, end + 8);
  if (!seq) return null;
  i = seq[1];
  if (!json.startsWith(',"ts":"', i)) return null;
  end = plainStringEnd(json, i + 7);
  if (end < 0) return null;
  if (!json.startsWith(',"attempt":', end + 1)) return null;
  const attempt = plainIntAt(json, end + 12);
  if (!attempt) return null;
  i = attempt[1];
  if (!json.startsWith(',"type":"', i)) return null;
  i += 9;
  end = plainStringEnd(json, i);
  if (end < 0) return null;
  const after = json.charCodeAt(end + 1);
  if (after !== COMMA && after !== BRACE_CLOSE) return null;
  return { jobId, seq: seq[0], type: json.slice(i, end) };
}

/**
 * A {@link LoggedEvent} backed by its stored JSON: `seq`, `type` and `jobId` at hand, the full event parsed on first
 * access to {@link event} (at once when the JSON does not have the envelope's fixed shape).
 */
export class StoredEvent implements LoggedEvent {
  readonly seq: number;
  readonly type: EventType;
  readonly jobId: string;
  #event: JobEvent | undefined;

  constructor(
    readonly json: string,
    readonly pos: number,
    /** The event, when the caller has it already (an append): never parsed again. */
    event?: JobEvent,
  ) {
    const env = event ? null : scanEnvelope(json);
    if (env) {
      this.seq = env.seq;
      this.type = env.type as EventType;
      this.jobId = env.jobId;
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

  /** Parsed already (for tests and the bench). */
  get parsed(): boolean {
    return this.#event !== undefined;
  }
}
