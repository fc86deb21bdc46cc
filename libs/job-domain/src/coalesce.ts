/**
 * Coalescing of text outputs: consecutive `token` (or `thinking`) outputs of the same type become one event whose
 * `text` is their exact concatenation, as long as the merged event stays within MAX_EVENT_BYTES (the same measure
 * as the size caps: UTF-8 bytes of the JSON plus the stamp's reserve). Pure; used by the runner (outputs that
 * arrive while an append is in flight) and by the HTTP worker appends (a batch's consecutive outputs).
 *
 * A merged event keeps the dedup id of its first output with `+<more>` after it (`mergedOutputDedupId`, dedup-ids.ts), so
 * the same merge appended again (a retry) is stored once. Other types are never merged, and order is kept.
 */
import type { AgentEvent, AgentEventOf } from '@jobstream/contracts';
import { STAMP_RESERVE_BYTES, jsonBytes } from './event-caps.js';

export type TextEvent = AgentEventOf<'token'> | AgentEventOf<'thinking'>;

/** A `token` or `thinking` output with a string text (anything else is never merged). */
export function isTextEvent(e: unknown): e is TextEvent {
  if (typeof e !== 'object' || e === null) return false;
  const { type, text } = e as { type?: unknown; text?: unknown };
  return (type === 'token' || type === 'thinking') && typeof text === 'string';
}

/** Bytes of a text inside a JSON string, quotes excluded (summed over pieces it bounds their concatenation's). */
const innerBytes = (text: string) => jsonBytes(text) - 2;

/** A run of consecutive texts of one type being merged into one event. */
export class TextRun {
  private readonly texts: string[];
  /** The merged event's size once stored (an upper bound: the stamp's reserve). */
  private size: number;

  private constructor(
    readonly type: TextEvent['type'],
    first: string,
  ) {
    this.texts = [first];
    this.size = jsonBytes({ type, text: '' }) + STAMP_RESERVE_BYTES + innerBytes(first);
  }

  /** A run that starts with `event`; null for an output that is not a text. */
  static start(event: unknown): TextRun | null {
    return isTextEvent(event) ? new TextRun(event.type, event.text) : null;
  }

  /** How many outputs the run holds. */
  get count(): number {
    return this.texts.length;
  }

  /** The merged event's size once stored (an upper bound). */
  get bytes(): number {
    return this.size;
  }

  /** The bytes `event` would add to this run, or null when it cannot join it (another type, not a text). */
  growth(event: unknown): number | null {
    return isTextEvent(event) && event.type === this.type ? innerBytes(event.text) : null;
  }

  /** Adds `event` when it is a text of the run's type and the merged event stays within `maxEventBytes`. */
  tryAdd(event: unknown, maxEventBytes: number): boolean {
    const more = this.growth(event);
    if (more === null || this.size + more > maxEventBytes) return false;
    this.texts.push((event as TextEvent).text);
    this.size += more;
    return true;
  }

  /** The merged event. */
  event(): TextEvent {
    return { type: this.type, text: this.texts.length === 1 ? this.texts[0]! : this.texts.join('') };
  }
}

/** One event of a coalesced list: `count` consecutive inputs from index `first`, merged into `event` (or one as is). */
export interface CoalescedEvent {
  event: AgentEvent;
  first: number;
  count: number;
}

/**
 * Merges the consecutive same-type `token` / `thinking` events of `events` (each merged event within
 * `maxEventBytes`; a text already over it stays alone, for the size caps to split). Deterministic: the same list
 * gives the same groups.
 */
export function coalesceTextEvents(events: readonly AgentEvent[], maxEventBytes: number): CoalescedEvent[] {
  const out: CoalescedEvent[] = [];
  let run: TextRun | null = null;
  let first = 0;
  const close = () => {
    if (run) out.push({ event: run.count === 1 ? events[first]! : run.event(), first, count: run.count });
    run = null;
  };
  for (const [i, e] of events.entries()) {
    if (run?.tryAdd(e, maxEventBytes)) continue;
    close();
    run = TextRun.start(e);
    first = i;
    if (!run) out.push({ event: e, first: i, count: 1 });
  }
  close();
  return out;
}
