/**
 * The job-store writes of a worker written against docs/worker-protocol.md ("The job record in Redis"), with plain
 * ioredis calls: the record `jobstream:job:<id>` (hash `{ v, d }`), the transition table, and the compare-and-set
 * script — read from the document itself (its ```lua block), so the test fails if the document's script is wrong.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** The job record's JSON (`d`), as far as a worker reads and writes it. */
export interface RawRecord {
  id: string;
  tenant: string;
  agent: string;
  input: Record<string, unknown>;
  status: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempt: number;
  usage: { input_tokens: number; output_tokens: number };
  error: { code: string; message: string } | null;
  cancel_reason: string | null;
  heartbeat_at?: string | null;
  dispatched_at?: string | null;
  input_request?: {
    request_id: string;
    kind: string;
    prompt: string;
    schema: Record<string, unknown>;
    expires_at: string;
    attempt: number;
    answer: Record<string, unknown> | null;
    answered_at: string | null;
  } | null;
  [k: string]: unknown;
}

/** The document's transition table (which status may follow which). */
const NEXT: Record<string, string[]> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['waiting_for_input', 'completed', 'failed', 'cancelled', 'queued', 'running'],
  waiting_for_input: ['queued', 'running', 'cancelled', 'failed', 'completed'],
  completed: [],
  failed: [],
  cancelled: [],
};
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** The compare-and-set script, exactly as docs/worker-protocol.md gives it. */
export function documentedCasScript(): string {
  const doc = readFileSync(new URL('../../docs/worker-protocol.md', import.meta.url), 'utf8');
  const m = /```lua\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error('docs/worker-protocol.md has no ```lua block');
  return m[1]!;
}

export interface Transition {
  from?: string[];
  where?: (r: RawRecord) => boolean;
  patch?: Partial<RawRecord>;
}

export class RawStore {
  private readonly cas = documentedCasScript();

  constructor(
    private readonly redis: Redis,
    /** JOB_RETENTION_S in ms: how long a finished record is kept. */
    private readonly retentionMs: number,
    private readonly prefix = 'jobstream:',
  ) {}

  async get(id: string): Promise<RawRecord | null> {
    const d = await this.redis.hget(`${this.prefix}job:${id}`, 'd');
    return d === null ? null : (JSON.parse(d) as RawRecord);
  }

  /** Moves the job to `to` (the document's rules); the record after it, and whether this call changed it. */
  async transition(id: string, to: string, t: Transition = {}): Promise<{ job: RawRecord | null; changed: boolean }> {
    return this.write(id, (r) => {
      if (t.from && !t.from.includes(r.status)) return null;
      if (t.where && !t.where(r)) return null;
      if (!NEXT[r.status]!.includes(to)) return null;
      const now = new Date().toISOString();
      const next: RawRecord = { ...r, ...t.patch, status: to, updated_at: now };
      if (to === 'running' && next.started_at === null) next.started_at = now;
      if (TERMINAL.has(to) && next.finished_at === null) next.finished_at = now;
      return next;
    });
  }

  /** Writes fields without a status change (`heartbeat_at`, a terminal record's end fields). */
  async update(id: string, fn: (r: RawRecord) => Partial<RawRecord> | null): Promise<boolean> {
    return (
      await this.write(id, (r) => {
        const patch = fn(r);
        return patch ? { ...r, ...patch, status: r.status, updated_at: new Date().toISOString() } : null;
      })
    ).changed;
  }

  private async write(
    id: string,
    next: (r: RawRecord) => RawRecord | null,
  ): Promise<{ job: RawRecord | null; changed: boolean }> {
    const p = this.prefix;
    for (let i = 0; i < 100; i++) {
      const [v, d] = await this.redis.hmget(`${p}job:${id}`, 'v', 'd');
      if (v === null || d === null) return { job: null, changed: false };
      const old = JSON.parse(d) as RawRecord;
      const rec = next(old);
      if (!rec) return { job: old, changed: false };
      const ms = (iso: string | null | undefined) => String(Date.parse(iso ?? ''));
      const finishing = TERMINAL.has(rec.status);
      const active = rec.status === 'running' ? ms(rec.heartbeat_at ?? rec.updated_at) : '';
      const waiting = rec.status === 'waiting_for_input' && rec.input_request ? ms(rec.input_request.expires_at) : '';
      const ok = await this.redis.eval(
        this.cas,
        7,
        `${p}job:${id}`,
        `${p}list:${old.status}:${old.tenant}`,
        `${p}list:${rec.status}:${old.tenant}`,
        `${p}expiring`,
        `${p}active`,
        `${p}waiting`,
        `${p}undispatched`,
        v,
        JSON.stringify(rec),
        id,
        finishing ? String(this.retentionMs) : '0',
        JSON.stringify([id, old.tenant]),
        String(Date.now() + this.retentionMs),
        active,
        waiting,
        '', // a worker never leaves a job queued and undispatched
      );
      if (ok === 1) return { job: rec, changed: true };
    }
    throw new Error(`job ${id} changed under 100 writes in a row`);
  }
}
