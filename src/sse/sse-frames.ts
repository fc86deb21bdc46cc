/**
 * SSE wire frames. An event's frame (`id`, `event`, `data` lines) is built once per process and shared by every
 * client that receives it: the fan-out hub prepares it once per live event, and replays of the memory log hit the
 * same cache because the log hands out the same event objects (events of the JetStream log keep it on themselves).
 */
import { StoredEvent, cursorOf, typeOf, type LoggedEvent } from '@jobstream/event-log';

const frames = new WeakMap<LoggedEvent, string>();

function buildFrame(e: LoggedEvent): string {
  // the stored JSON when the log kept it (no parse, no serialization); else the event serialized once (one line:
  // JSON.stringify never emits a raw newline)
  const json = e.json ?? JSON.stringify(e.event);
  return `id: ${cursorOf(e)}\nevent: ${typeOf(e)}\ndata: ${json}\n\n`;
}

export function frameOf(e: LoggedEvent): string {
  // events read back from the log carry their frame themselves; others (the memory log's) are keyed in a WeakMap
  if (e instanceof StoredEvent) return (e.rendered ??= buildFrame(e));
  let f = frames.get(e);
  if (f === undefined) {
    f = buildFrame(e);
    frames.set(e, f);
  }
  return f;
}

export const KEEPALIVE_FRAME = ': keepalive\n\n';

export function openingFrame(retryMs: number): string {
  return `retry: ${retryMs}\n: keepalive\n\n`;
}
