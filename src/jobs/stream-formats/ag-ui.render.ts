/**
 * AG-UI over SSE: the encoder's events as `id:` + `data:` frames, and which of them one response sends.
 *
 * Every frame carries a cursor. An event that becomes n AG-UI events sends them as n frames: the last one with the
 * event's own cursor `C`, the ones before it with `C.k` (k = 0 … n-2), so a client that dropped between two of them
 * resumes exactly (`Last-Event-ID: C.k` ⇒ frames k+1 … of that event, then the events after it). The encoder always
 * reads the job from its first event (message and run ids come from the log); frames up to the cursor are dropped.
 */
import type { EventPosition, JobEvent } from '@jobstream/contracts';
import { cursorOf, isTerminalLogged, seqOf, type LoggedEvent } from '@jobstream/event-log';
import type { AgUiEncoder } from './ag-ui.encoder.js';

/** An AG-UI cursor: a job cursor and, when it names a frame inside an event, that frame's index. */
export interface AgUiCursor {
  /** The job cursor part (validated by the stream service like any cursor). */
  base: string;
  frame: number | null;
}

const SUB_RE = /^(.*)\.(\d{1,4})$/;

export function parseAgUiCursor(raw: string | undefined): AgUiCursor | null {
  if (raw === undefined || raw.trim() === '') return null;
  const s = raw.trim();
  const m = SUB_RE.exec(s);
  return m ? { base: m[1]!, frame: Number(m[2]) } : { base: s, frame: null };
}

export interface AgUiWindow {
  /** Send nothing up to here: the event at `at.seq` entirely (frame null) or up to its frame `frame`. */
  after?: { at: EventPosition; frame: number | null };
  /** Send nothing before the run the answer to this request opens (named `runId`), or before the job's end. */
  fromAnswer?: { requestId: string; runId: string };
  /** End the response when the first run it sends ends (`HttpAgent`: one response = one run). */
  oneRun?: boolean;
}

export interface AgUiRender {
  frame: (e: LoggedEvent) => string;
  endsAfter: (e: LoggedEvent) => boolean;
}

export function agUiRender(encoder: AgUiEncoder, w: AgUiWindow): AgUiRender {
  let open = w.fromAnswer === undefined;
  let sent = false;
  let done = false;
  return {
    frame: (le) => {
      if (done) return '';
      const e = le.event as JobEvent;
      if (!open && e.type === 'input_received' && e.request_id === w.fromAnswer!.requestId) {
        open = true;
        encoder.nameNextRun(w.fromAnswer!.runId);
      }
      // the job ended before the answer came (cancelled, expired): its end is what the run gets
      if (!open && isTerminalLogged(le)) open = true;
      const events = encoder.events(e);
      if (!open || events.length === 0) return '';
      const seq = seqOf(le);
      const skipUpTo =
        w.after === undefined || seq > w.after.at.seq
          ? -1
          : seq < w.after.at.seq
            ? Infinity
            : (w.after.frame ?? Infinity);
      const cursor = cursorOf(le);
      let out = '';
      for (let k = 0; k < events.length; k++) {
        if (k <= skipUpTo) continue;
        const id = k === events.length - 1 ? cursor : `${cursor}.${k}`;
        out += `id: ${id}\ndata: ${JSON.stringify(events[k])}\n\n`;
        sent = true;
      }
      if (w.oneRun && sent && !encoder.running) done = true;
      return out;
    },
    endsAfter: (le) => {
      return done || isTerminalLogged(le);
    },
  };
}
