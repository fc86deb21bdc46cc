/**
 * The size caps every agent's output goes through before it is appended (MAX_EVENT_BYTES, MAX_JOB_BYTES), pure so
 * every producer path applies one policy: an oversized `token` / `thinking` is split (the text unchanged), `done`
 * drops `output.text` (`output.truncated: true`), anything else is refused (`event_too_large`). Sizes are UTF-8
 * bytes of the JSON plus {@link STAMP_RESERVE_BYTES} for what the log adds.
 */
import type { AgentEvent, AgentEventOf } from '@jobstream/contracts';

export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;
export const DEFAULT_MAX_JOB_BYTES = 64 * 1024 * 1024;
/** An upper bound of the bytes the log's stamp adds to an agent's event (ids, seq, time, attempt and their keys). */
export const STAMP_RESERVE_BYTES = 256;
/** The smallest cap the splitter works with (a chunk must hold at least one escaped code point). */
export const MIN_EVENT_BYTES = 1024;

/** UTF-8 bytes of a value's JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Bytes the code unit(s) at `i` take inside a JSON string, and how many code units they are. */
function costAt(s: string, i: number): [bytes: number, units: number] {
  const c = s.charCodeAt(i);
  if (c < 0x20) return [c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6, 1];
  if (c === 0x22 || c === 0x5c) return [2, 1];
  if (c < 0x80) return [1, 1];
  if (c < 0x800) return [2, 1];
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    // a pair is 4 UTF-8 bytes; a lone surrogate is escaped by JSON.stringify as \uXXXX
    return d >= 0xdc00 && d <= 0xdfff ? [4, 2] : [6, 1];
  }
  if (c >= 0xdc00 && c <= 0xdfff) return [6, 1];
  return [3, 1];
}

/**
 * Cuts `text` into pieces whose JSON string (quotes included) is at most `maxJsonBytes` UTF-8 bytes each, greedily,
 * on code point boundaries; `pieces.join('') === text`. An empty text is one empty piece.
 */
export function splitText(text: string, maxJsonBytes: number): string[] {
  const room = maxJsonBytes - 2; // the quotes
  if (room < 6) throw new RangeError(`a text piece needs at least 8 bytes, got ${maxJsonBytes}`);
  if (text.length * 6 <= room) return [text]; // fits whatever it holds
  const out: string[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < text.length;) {
    const [b, n] = costAt(text, i);
    if (bytes + b > room) {
      out.push(text.slice(start, i));
      start = i;
      bytes = 0;
    }
    bytes += b;
    i += n;
  }
  out.push(text.slice(start));
  return out;
}

export type CappedEvent =
  /** The event(s) to append, in order: the event itself, its pieces, or a `done` without its text. */
  | { ok: true; events: AgentEvent[] }
  /** Over the cap and not splittable: the job ends with `error` `event_too_large`. */
  | { ok: false; bytes: number };

type TextEvent = AgentEventOf<'token'> | AgentEventOf<'thinking'>;

/** Applies MAX_EVENT_BYTES to one agent event (see the header). */
export function capEvent(event: AgentEvent, maxEventBytes: number): CappedEvent {
  if (event.type === 'token' || event.type === 'thinking')
    return { ok: true, events: splitTextEvent(event, maxEventBytes) };
  const bytes = jsonBytes(event) + STAMP_RESERVE_BYTES;
  if (bytes <= maxEventBytes) return { ok: true, events: [event] };
  if (event.type === 'done') {
    const { text: _dropped, ...output } = event.output;
    const slim: AgentEvent = { ...event, output: { ...output, truncated: true } };
    const slimBytes = jsonBytes(slim) + STAMP_RESERVE_BYTES;
    return slimBytes <= maxEventBytes ? { ok: true, events: [slim] } : { ok: false, bytes: slimBytes };
  }
  return { ok: false, bytes };
}

function splitTextEvent(event: TextEvent, maxEventBytes: number): AgentEvent[] {
  const text = event.text;
  if (typeof text !== 'string') return [event]; // malformed: the log refuses it (InvalidEventError)
  // the common case, a short token: no measuring at all (an escaped UTF-16 unit is at most 6 bytes)
  if (text.length * 6 + 512 + STAMP_RESERVE_BYTES <= maxEventBytes) return [event];
  const envelope = jsonBytes({ ...event, text: '' }) + STAMP_RESERVE_BYTES; // includes the text's quotes
  const pieces = splitText(text, maxEventBytes - envelope + 2);
  return pieces.length === 1 ? [event] : pieces.map((t) => ({ ...event, text: t }));
}

/** The bytes an agent event will take once stamped and stored (an upper bound: the stamp's reserve). */
export function eventBytes(event: AgentEvent): number {
  return jsonBytes(event) + STAMP_RESERVE_BYTES;
}
