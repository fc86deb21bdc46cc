/**
 * Adaptive coalescing: pulls an agent's outputs and hands them to `write` (the append) one at a time. An output
 * that arrives while nothing is in flight is written at once (no added latency). While a `token` / `thinking`
 * write is in flight — still after one turn of the event loop: an append that keeps up, like the embedded engine's
 * in-memory log, is never read ahead of, so there each output stays its own event — the agent is read on: the
 * following texts of one type are merged (job domain's TextRun, within MAX_EVENT_BYTES and the room the job's byte
 * budget has left) and written as one event as soon as the write settles. Any other output waits for it, and the
 * agent is not read further meanwhile — so nothing after a question or a terminal output runs, and at most one
 * merged text and one other output are held.
 *
 * A merged write carries `first` (the number of its first output) and `count`, from which its dedup id is made: a
 * retry of the write is the same merge under the same id. On an abort (cancel, hand-back) the texts merged before
 * it are still written and an output read after it is dropped, as it always was; when a write ends the job, what
 * was read meanwhile is dropped (the agent is closed at its next yield). Either way the attempt ends (or the next
 * one starts from scratch, its `attempt` event voiding this one), so no text is written twice or half. An agent
 * that throws has what it yielded before written first; then the error is thrown.
 */
import { TextRun, eventBytes } from '@jobstream/job-domain';
import type { AgentOutput } from '../agent.js';

/** What a write did: go on, or stop the agent (the pass ends, or a question parks the job). */
export type PipeStep = 'next' | 'stop' | 'asked';

/** One write: the output (a merged text, or one output as yielded), its first output's number (1-based) and count. */
export interface PipeWrite {
  out: AgentOutput;
  first: number;
  count: number;
}

export interface PipeOptions {
  /** Merge texts while a write is in flight (else one output at a time, the agent read only between writes). */
  coalesce: boolean;
  maxEventBytes: number;
  /** The job's byte budget still takes `bytes` more (a merge never takes it past what fits). */
  fits: (bytes: number) => boolean;
  signal: () => AbortSignal;
}

interface InFlight {
  done: Promise<PipeStep>;
  /** A token / thinking write: the agent is read on meanwhile (once it is still in flight after one loop turn). */
  text: boolean;
  bytes: number;
  /** Resolves after one turn of the event loop (`setImmediate`); `ripe` then. */
  ripening: Promise<void> | null;
  ripe: boolean;
}

type Pulled = { ok: true; r: IteratorResult<AgentOutput> } | { ok: false; err: unknown };

/** Runs the agent's outputs through `write` until the agent ends or a write stops it; the last step. */
export async function pipeOutputs(
  outputs: AsyncIterable<AgentOutput>,
  write: (w: PipeWrite) => Promise<PipeStep>,
  o: PipeOptions,
): Promise<PipeStep> {
  const it = outputs[Symbol.asyncIterator]();
  let n = 0;
  // assigned in start(): typed wide so the checks below are not narrowed to the initial null
  let inflight = null as InFlight | null;
  let run: TextRun | null = null;
  let runFirst = 0;
  let held: PipeWrite | null = null;
  let pulling: Promise<Pulled> | null = null;
  let ended = false;
  let failure: { err: unknown } | null = null;
  const pull = () =>
    it.next().then(
      (r): Pulled => ({ ok: true, r }),
      (err: unknown): Pulled => ({ ok: false, err }),
    );
  const start = (w: PipeWrite) => {
    const text = w.out.type === 'token' || w.out.type === 'thinking';
    const ripening = text && o.coalesce ? new Promise<void>((r) => setImmediate(r)) : null;
    inflight = { done: write(w), text, bytes: text ? eventBytes(w.out as never) : 0, ripening, ripe: false };
  };
  try {
    for (;;) {
      if (!inflight && o.signal().aborted) {
        // stopped (cancel, hand-back): the texts read before are written (the usage counts them); nothing else
        held = null;
        ended = true;
        if (run) {
          start({ out: run.event(), first: runFirst, count: run.count });
          run = null;
          continue;
        }
        if (pulling) await pulling; // the agent winds down from the signal
        pulling = null;
        return 'next';
      }
      if (!inflight) {
        // what waits goes first, in order: the merged texts, then the output that could not join them
        if (run) {
          start({ out: run.event(), first: runFirst, count: run.count });
          run = null;
        } else if (held) {
          start(held);
          held = null;
        } else if (ended) {
          if (failure) throw failure.err;
          return 'next';
        }
      }
      const current = inflight;
      if (current?.ripening && !current.ripe && !ended && !held) {
        // an append done within this loop turn (an in-memory log) keeps up: nothing is read ahead of it
        const first = await Promise.race([current.done.then((step) => ({ step })), current.ripening]);
        if (first) {
          inflight = null;
          if (first.step !== 'next') return first.step;
        } else current.ripe = true;
        continue;
      }
      // read the agent on when nothing is in flight, or while a text is (to merge what follows it)
      const readOn = !ended && !held && (!current || (o.coalesce && current.text && current.ripe));
      if (readOn && !pulling) pulling = pull();
      let got: Pulled;
      if (!current) {
        got = await pulling!;
      } else if (!readOn || !pulling) {
        const step = await current.done;
        inflight = null;
        if (step !== 'next') return step;
        continue;
      } else {
        const first = await Promise.race([current.done.then((step) => ({ step })), pulling.then((p) => ({ p }))]);
        if ('step' in first) {
          inflight = null;
          if (first.step !== 'next') return first.step;
          continue;
        }
        got = first.p;
      }
      pulling = null;
      if (!got.ok) {
        failure = { err: got.err };
        ended = true;
        continue;
      }
      if (got.r.done) {
        ended = true;
        continue;
      }
      n++;
      if (o.signal().aborted) {
        // stopped: an output read now is dropped (as it always was); what is in flight and merged settles (above)
        held = null;
        ended = true;
        continue;
      }
      const out = got.r.value;
      if (!current) {
        start({ out, first: n, count: 1 });
        continue;
      }
      if (run) {
        const more = run.growth(out);
        if (more !== null && o.fits(current.bytes + run.bytes + more) && run.tryAdd(out, o.maxEventBytes)) continue;
        held = { out, first: n, count: 1 };
        continue;
      }
      const started = TextRun.start(out);
      if (started && started.bytes <= o.maxEventBytes && o.fits(current.bytes + started.bytes)) {
        run = started;
        runFirst = n;
      } else held = { out, first: n, count: 1 };
    }
  } finally {
    // a read still pending (a write stopped the pass meanwhile): close the agent once it yields, without waiting
    if (pulling) void pulling.then(() => it.return?.()).catch(() => {});
    else await it.return?.().catch(() => {});
  }
}
