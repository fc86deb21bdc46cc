/**
 * The ThreadStore port: conversations (threads) and the order of their turns, at most one active turn per thread,
 * decided by the store's atomic operations. The contract every driver keeps is in docs/stores.md;
 * `testing/thread-store.conformance.ts` checks it against every driver.
 */
import { QuotaExceededError, type IfBusy } from '@jobstream/contracts';

export interface ThreadRecord {
  id: string;
  tenant: string;
  agent: string;
  metadata: Record<string, unknown> | null;
  /** The thread's name in an outside system (unique per tenant), or null. */
  external_id: string | null;
  created_at: string;
  updated_at: string;
  /** The number of the newest turn (0 before the first). */
  turns: number;
  active_job_id: string | null;
  /** True once the active job was handed to the queue. */
  active_started: boolean;
  last_job_id: string | null;
  /** Jobs waiting for their turn, in order. */
  pending: string[];
  /** The active job an interrupting turn waits on (to be cancelled `interrupted`); null when none. */
  interrupting: string | null;
  /** Waiting turns an interrupt dropped from the line, until they end (cancelled `interrupted`). */
  cancelling: string[];
}

export type BeginTurnResult =
  | { kind: 'not_found' }
  | { kind: 'busy'; active_job_id: string }
  | { kind: 'conflict' }
  | { kind: 'existing'; job_id: string }
  | { kind: 'started'; turn: number; thread: ThreadRecord }
  | { kind: 'queued'; turn: number; thread: ThreadRecord; interrupt: string[] };

export interface BeginTurnInput {
  jobId: string;
  ifBusy: IfBusy;
  idempotency?: { key: string; fingerprint: string };
}

export type DeleteThreadResult =
  { kind: 'not_found' } | { kind: 'busy'; active_job_id: string } | { kind: 'deleted'; job_ids: string[] };

export interface ThreadPage {
  items: ThreadRecord[];
  next_cursor: string | null;
}

export interface TurnRef {
  turn: number;
  job_id: string;
}

export interface TurnPage {
  items: TurnRef[];
  next_cursor: string | null;
}

export interface ThreadStore {
  create(thread: ThreadRecord, maxPerTenant?: number): Promise<void>;
  get(id: string): Promise<ThreadRecord | null>;
  list(tenant: string, q: { limit: number; cursor?: string | null }): Promise<ThreadPage>;
  /** The thread's turns in order (turn 1 first); the cursor continues after the last turn of the previous page. */
  turns(id: string, q: { limit: number; cursor?: string | null }): Promise<TurnPage>;
  beginTurn(id: string, input: BeginTurnInput): Promise<BeginTurnResult>;
  /** The tenant's thread whose `external_id` is `thread.external_id`, or `thread` itself, created now. */
  ensureExternal(
    thread: ThreadRecord & { external_id: string },
    maxPerTenant?: number,
  ): Promise<{ thread: ThreadRecord; created: boolean }>;
  /** The tenant's thread named `externalId`, or null. */
  getExternal(tenant: string, externalId: string): Promise<ThreadRecord | null>;
  settle(id: string, jobId: string): Promise<{ next: string | null }>;
  markStarted(id: string, jobId: string): Promise<boolean>;
  delete(id: string): Promise<DeleteThreadResult>;
  listBusy(olderThan: Date, limit: number): Promise<ThreadRecord[]>;
  listIdle(olderThan: Date, limit: number): Promise<ThreadRecord[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ThreadStoreOptions {
  /** How long a turn's idempotency key is remembered (ms). */
  idempotencyTtlMs: number;
}

export class InvalidThreadCursorError extends Error {
  override readonly name = 'InvalidThreadCursorError';
  constructor() {
    super('malformed list cursor');
  }
}

/** The store's backing service cannot be reached (maps to 503). */
export class ThreadStoreUnavailableError extends Error {
  override readonly name = 'ThreadStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function newThreadRecord(
  fields: Pick<ThreadRecord, 'id' | 'tenant' | 'agent' | 'metadata'> & { external_id?: string | null },
  now = new Date(),
): ThreadRecord {
  const iso = now.toISOString();
  return {
    ...fields,
    external_id: fields.external_id ?? null,
    created_at: iso,
    updated_at: iso,
    turns: 0,
    active_job_id: null,
    active_started: false,
    last_job_id: null,
    pending: [],
    interrupting: null,
    cancelling: [],
  };
}

export function encodeThreadCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}
export function decodeThreadCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^thr_[0-9A-Z]{26}$/.test(id)) throw new InvalidThreadCursorError();
  return id;
}
export function encodeTurnCursor(turn: number): string {
  return Buffer.from(`t${turn}`, 'utf8').toString('base64url');
}
export function decodeTurnCursor(cursor: string): number {
  const m = /^t(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new InvalidThreadCursorError();
  return Number(m[1]);
}

export function threadsQuotaError(max: number): QuotaExceededError {
  return new QuotaExceededError(
    'threads',
    max,
    undefined,
    `at most ${max} threads per tenant; delete threads you no longer need`,
  );
}
