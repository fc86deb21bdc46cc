/**
 * SSE wire frames. An event's frame (`id`, `event`, `data` lines) is built once per process and shared by every
 * client that receives it: the fan-out hub prepares it once per live event, and replays of the memory log hit the
 * same cache because the log hands out the same event objects.
 */
import { encodeCursor, type JobEvent } from '@jobstream/contracts';
import type { LoggedEvent } from '@jobstream/event-log';

const frames = new WeakMap<LoggedEvent, string>();

/** The SSE `id` of an event. */
export function cursorOf(e: LoggedEvent): string {
  return encodeCursor(e.event.job_id, { seq: e.event.seq, pos: e.pos });
}

/** `json`: the event's JSON when already at hand (one line: JSON.stringify never emits a raw newline). */
export function buildFrame(id: string, event: JobEvent, json = JSON.stringify(event)): string {
  return `id: ${id}\nevent: ${event.type}\ndata: ${json}\n\n`;
}

export function frameOf(e: LoggedEvent): string {
  let f = frames.get(e);
  if (f === undefined) {
    f = buildFrame(cursorOf(e), e.event, e.json);
    frames.set(e, f);
  }
  return f;
}

export const KEEPALIVE_FRAME = ': keepalive\n\n';

export function openingFrame(retryMs: number): string {
  return `retry: ${retryMs}\n: keepalive\n\n`;
}
