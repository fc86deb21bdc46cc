/**
 * The ByteLog port: append-only logs of opaque byte frames for streams that are not jobs (Durable Streams under
 * `/ds`), on the event log's backing service. The contract every driver keeps is in docs/stores.md;
 * `testing/byte-log.conformance.ts` checks it.
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
