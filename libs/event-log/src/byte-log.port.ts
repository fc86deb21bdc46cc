/**
 * The ByteLog port: append-only logs of opaque byte frames, for streams that are not jobs (the Durable Streams
 * protocol under `/ds`). The same backing service as the job {@link EventLog} (JetStream in production, memory when
 * embedded), with none of its job rules: no event schema, no seq, no attempts.
 *
 * Contract every driver keeps (checked by `testing/byte-log.conformance.ts`):
 * - **Positions.** `append` gives each frame a `pos` that is greater than every `pos` given before by the same
 *   backing log, for any key (one counter shared by all keys: a stream that continues another one's frames —
 *   a fork — numbers after them without coordination).
 * - **Compare-and-append.** With `expectedLastPos`, the append happens only if the key's newest frame has that pos
 *   (0: the key has no frame); otherwise {@link ByteLogConflictError} and nothing is stored.
 * - **Dedup.** With `msgId`, an append whose id was already appended for that key (within the driver's window,
 *   at least two minutes) stores nothing and returns the first append's pos with `duplicate: true` — checked
 *   before `expectedLastPos`, so a retried append whose first attempt landed is recognised.
 * - **Read.** `read(key, after, …)` returns frames with pos > after, oldest first, at most `maxFrames`, and stops
 *   after the frame that reaches `maxBytes` (at least one frame when there is one).
 * - **Wake-ups.** `watch` resolves once active; afterwards every `notify(key)` — of any process — calls the
 *   listener (maybe more often: a wake-up is a hint to read again, never data). Writers notify once what they
 *   wrote is visible (frame and metadata), so a woken reader finds it.
 * - **Delete.** `delete(key)` removes the key's frames and nothing of other keys.
 */
export interface ByteFrame {
  readonly pos: number;
  readonly data: Uint8Array;
}

export interface ByteAppendOptions {
  /** Append only if the key's newest frame has this pos (0: no frame yet). */
  expectedLastPos?: number;
  /** Stable id of this append: a retry with the same id appends nothing. */
  msgId?: string;
}

export interface ByteAppendResult {
  pos: number;
  duplicate: boolean;
}

export interface ByteLogWatch {
  /** Stops wake-ups; idempotent. */
  stop(): void;
}

export interface ByteLog {
  append(key: string, data: Uint8Array, opts?: ByteAppendOptions): Promise<ByteAppendResult>;
  read(key: string, after: number, maxFrames: number, maxBytes: number): Promise<ByteFrame[]>;
  /** Pos of the key's newest frame, 0 when it has none. */
  lastPos(key: string): Promise<number>;
  watch(key: string, listener: () => void): Promise<ByteLogWatch>;
  /** Wakes the key's watchers (best effort: a lost wake-up costs a reader one poll interval). */
  notify(key: string): void;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The key's newest frame is not the expected one: another writer appended first. */
export class ByteLogConflictError extends Error {
  override readonly name = 'ByteLogConflictError';
  constructor(
    readonly key: string,
    readonly expected: number,
  ) {
    super(`byte log ${key}: the newest frame is not ${expected}`);
  }
}
