/**
 * Callback-style consumption on top of `createStream`:
 * - {@link subscribeJobStream}: every event, reconnecting by itself, with a final status check when it gives up;
 * - {@link streamJobTokens}: just the text, one connection unless told to reconnect.
 */
import type { JobEvent } from '@jobstream/contracts/events';
import type { JobSnapshot } from '@jobstream/contracts/snapshot';
import { isTerminalEvent, type TerminalJobEvent } from './terminal.js';
import type { Job } from '@jobstream/contracts/job';
import { TokenAssembler } from './assembler.js';
import { JobstreamConnectionError, JobstreamError, isRetryable } from './errors.js';
import {
  createStreamWith,
  isSnapshot,
  type ReconnectInfo,
  type SnapshotStreamOptions,
  type StreamOptions,
} from './stream.js';
import { resolveTransport, type ClientSource, type Transport } from './transport.js';

export type { TerminalJobEvent };

export interface SubscribeHandlers {
  /** Every event, in seq order, each once (including `attempt` and the terminal event). */
  onEvent?: (event: JobEvent) => void;
  /**
   * A snapshot of the job's state (with `snapshot: true` first; with `snapshotAfterDisconnectMs` after a long
   * disconnect, in place of the events missed): show `snapshot.text` as the text so far; events continue after it.
   */
  onSnapshot?: (snapshot: JobSnapshot) => void;
  /** A token of the current attempt; `text` is the assembled text of the attempt so far. */
  onToken?: (token: string, text: string, event: JobEvent<'token'>) => void;
  /** A new attempt started: discard what you showed of `discarded` (the earlier attempt's text). */
  onAttempt?: (event: JobEvent<'attempt'>, discarded: string) => void;
  /** The connection dropped and the SDK will reconnect after `info.delayMs`. */
  onReconnect?: (info: ReconnectInfo) => void;
  /**
   * The job asks (`input_required`) and the request is still open (checked with a `GET` of the job's
   * `pending_input`, so replayed questions that were answered long ago are not offered again).
   * Answer with `respond(input)` (= `client.jobs.input`), or return the input (or a promise of it) and the SDK sends
   * it. A failing answer is reported to `onError` without ending the subscription.
   */
  onInputRequired?: (event: JobEvent<'input_required'>, respond: InputResponder) => InputHandlerResult;
  /** The terminal event arrived (`done`, `error` = the JOB failed, `cancelled`). `text` = the final attempt's text. */
  onComplete?: (terminal: TerminalJobEvent, text: string) => void;
  /**
   * The SDK gave up (a final HTTP error, or `maxRetries` failures in a row) or a handler threw. When the job's state
   * was unclear, `error.job` holds what a final `GET /v1/jobs/:id` said (it may already be terminal).
   * Never called for the job's own `error` event, nor after `close()`.
   */
  onError?: (error: unknown) => void;
}

/** Sends the answer to the open request; resolves with the job (status `queued` or `running` again). */
export type InputResponder = (input: Record<string, unknown>) => Promise<Job>;
/** What an input handler may return: nothing (it called `respond` itself, or will), or the answer to send. */
export type InputHandlerResult = void | Record<string, unknown> | Promise<void | Record<string, unknown>>;

export type SubscriptionResult =
  | { outcome: 'completed'; terminal: TerminalJobEvent; text: string; lastEventId: string | undefined }
  | { outcome: 'closed'; lastEventId: string | undefined }
  | { outcome: 'failed'; error: unknown; lastEventId: string | undefined };

export interface Subscription {
  /** Stops the subscription (no more callbacks). Idempotent. */
  close(): void;
  /** Cursor of the last delivered event: store it and pass it as `resumeAfter` to continue later. */
  getLastEventId(): string | undefined;
  /** Settles when the subscription ends; never rejects. */
  readonly done: Promise<SubscriptionResult>;
}

export type SubscribeOptions = StreamOptions & ClientSource;

/**
 * Follows a job until its terminal event, reconnecting on drops (see `createStream` for the rules), and calls the
 * handlers. Resume a stored position with `options.resumeAfter`.
 */
export function subscribeJobStream(
  jobId: string,
  handlers: SubscribeHandlers,
  options: SubscribeOptions,
): Subscription {
  return subscribeWith(resolveTransport(options), jobId, handlers, options);
}

export function subscribeWith(
  transport: Transport,
  jobId: string,
  h: SubscribeHandlers,
  options: StreamOptions,
): Subscription {
  // typed as a stream that may yield snapshots (it does with `snapshot` / `snapshotAfterDisconnectMs`)
  const stream = createStreamWith(transport, jobId, {
    ...options,
    onReconnect: (info) => {
      options.onReconnect?.(info);
      h.onReconnect?.(info);
    },
  } as SnapshotStreamOptions);
  let closed = false;
  const assembler = new TokenAssembler();
  const offered = new Set<string>();
  const offer = (event: JobEvent<'input_required'>): void => {
    if (!h.onInputRequired || offered.has(event.request_id)) return;
    offered.add(event.request_id);
    const path = `/v1/jobs/${encodeURIComponent(jobId)}`;
    const respond: InputResponder = async (input) =>
      (await transport.json<Job>('POST', `${path}/input`, { body: { request_id: event.request_id, input } })).body;
    void (async () => {
      // still open? (a replay shows questions answered long ago)
      const job = (await transport.json<Job>('GET', path)).body;
      if (closed || job.pending_input?.request_id !== event.request_id) return;
      const answer = await h.onInputRequired!(event, respond);
      if (answer && typeof answer === 'object' && !closed) await respond(answer);
    })().catch((error: unknown) => {
      if (closed) return;
      try {
        h.onError?.(error);
      } catch {
        /* the subscription goes on */
      }
    });
  };

  const run = async (): Promise<SubscriptionResult> => {
    try {
      for await (const item of stream) {
        if (closed) break;
        if (isSnapshot(item)) {
          assembler.restore(item.text, item.attempt);
          h.onSnapshot?.(item);
          continue;
        }
        const event = item;
        h.onEvent?.(event);
        if (event.type === 'input_required') offer(event as JobEvent<'input_required'>);
        const change = assembler.apply(event);
        if (change.kind === 'token') h.onToken?.(change.text, assembler.text, event as JobEvent<'token'>);
        else if (change.kind === 'reset') h.onAttempt?.(event as JobEvent<'attempt'>, change.discarded);
        if (isTerminalEvent(event)) {
          const terminal = event as TerminalJobEvent;
          h.onComplete?.(terminal, assembler.text);
          return { outcome: 'completed', terminal, text: assembler.text, lastEventId: stream.lastEventId };
        }
      }
      return { outcome: 'closed', lastEventId: stream.lastEventId };
    } catch (error) {
      stream.close();
      if (closed) return { outcome: 'closed', lastEventId: stream.lastEventId };
      if (options.signal?.aborted) return { outcome: 'closed', lastEventId: stream.lastEventId };
      if (needsStatusCheck(error)) await attachJobState(transport, jobId, error);
      try {
        h.onError?.(error);
      } catch {
        // a throwing onError must not turn `done` into a rejection
      }
      return { outcome: 'failed', error, lastEventId: stream.lastEventId };
    }
  };

  const done = run();
  return {
    close() {
      if (closed) return;
      closed = true;
      stream.close();
    },
    getLastEventId: () => stream.lastEventId,
    done,
  };
}

/** Retry-exhausted failures and an expired cursor leave the job's state unknown to the caller. */
function needsStatusCheck(error: unknown): error is JobstreamError | JobstreamConnectionError {
  if (error instanceof JobstreamError && error.code === 'cursor_expired') return true;
  return isRetryable(error);
}

/** The final status check: one `GET /v1/jobs/:id`; its own failure is ignored (the original error matters). */
export async function attachJobState(
  transport: Transport,
  jobId: string,
  error: JobstreamError | JobstreamConnectionError,
): Promise<Job | undefined> {
  try {
    const r = await transport.json<Job>('GET', `/v1/jobs/${encodeURIComponent(jobId)}`);
    error.job = r.body;
    return r.body;
  } catch {
    return undefined;
  }
}

export interface TokenCallbacks {
  /** A token of the current attempt, and the attempt's text so far. */
  onToken: (token: string, text: string) => void;
  /** A new attempt started: clear what you rendered. */
  onReset?: (attempt: number) => void;
  /** The job ended: `terminal.type` is `done`, `error` (the job failed) or `cancelled`. */
  onDone?: (terminal: TerminalJobEvent, text: string) => void;
  /** The stream failed (see {@link SubscribeHandlers.onError}). */
  onError?: (error: unknown) => void;
}

export interface TokenStreamHandle {
  close(): void;
  getLastEventId(): string | undefined;
}

/**
 * Streams a job's token text. One connection by default (`reconnect: false`): on a drop `onError` gets a
 * {@link JobstreamConnectionError} and `getLastEventId()` tells where to resume (`resumeAfter`). Pass
 * `reconnect: true` (or use {@link subscribeJobStream}) to have the SDK reconnect.
 */
export function streamJobTokens(
  jobId: string,
  callbacks: TokenCallbacks,
  options: SubscribeOptions,
): TokenStreamHandle {
  const sub = subscribeJobStream(
    jobId,
    {
      onToken: (token, text) => callbacks.onToken(token, text),
      onAttempt: (e) => callbacks.onReset?.(e.attempt),
      onComplete: (t, text) => callbacks.onDone?.(t, text),
      onError: (err) => callbacks.onError?.(err),
    },
    { ...options, reconnect: options.reconnect ?? false },
  );
  return { close: () => sub.close(), getLastEventId: () => sub.getLastEventId() };
}
