/**
 * A job's log as docs/worker-protocol.md §4 describes it, with plain `nats` calls: publishes on
 * `jobstream.events.<job_id>` with `Nats-Msg-Id` and `Nats-Expected-Last-Subject-Sequence`, direct gets on
 * `$JS.API.DIRECT.GET.JOBSTREAM_EVENTS`, and the rules of a closed log and a superseded attempt.
 */
import type { JetStreamClient, NatsConnection, NatsError } from 'nats';

/** An event as stored: the envelope plus the agent's fields. */
export type Stored = { job_id: string; seq: number; ts: string; attempt: number; type: string } & Record<
  string,
  unknown
>;
export type Body = { type: string } & Record<string, unknown>;

const enc = new TextEncoder();
const dec = new TextDecoder();
export const TERMINAL = new Set(['done', 'error', 'cancelled']);
/** An expected last subject sequence no subject has: a retried append of a closed log can only be a duplicate. */
const NEVER = Number.MAX_SAFE_INTEGER;

export class Closed extends Error {
  constructor(readonly terminal: Stored) {
    super('the job log is closed');
  }
}
export class Superseded extends Error {}

/** A job's subject in JOBSTREAM_EVENTS, appended to with the document's rules (dense seq, fencing, dedup). */
export class JobLog {
  seq = 0;
  pos = 0;
  attempt = 0;
  terminal: Stored | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly jobId: string,
  ) {}

  get subject() {
    return `jobstream.events.${this.jobId}`;
  }

  /** A direct get (`$JS.API.DIRECT.GET.JOBSTREAM_EVENTS`): the stored event and its stream sequence, or null. */
  private async get(query: Record<string, unknown>): Promise<{ e: Stored; pos: number } | null> {
    const r = await this.nc.request('$JS.API.DIRECT.GET.JOBSTREAM_EVENTS', enc.encode(JSON.stringify(query)), {
      timeout: 5_000,
    });
    if (r.headers && r.headers.code >= 400) return null; // 404: no such message
    return { e: JSON.parse(dec.decode(r.data)) as Stored, pos: Number(r.headers!.get('Nats-Sequence')) };
  }

  /** The subject's last event (`last_by_subj`). */
  async load(): Promise<void> {
    const got = await this.get({ last_by_subj: this.subject });
    if (!got) throw new Error(`job ${this.jobId} has no events`);
    this.note(got.e, got.pos);
  }

  /** Every event of the job, oldest first (`next_by_subj` from a stream sequence). */
  async all(): Promise<Stored[]> {
    const out: Stored[] = [];
    for (let from = 1; from <= this.pos;) {
      const got = await this.get({ next_by_subj: this.subject, seq: from });
      if (!got) break;
      out.push(got.e);
      from = got.pos + 1;
    }
    return out;
  }

  async append(body: Body, attempt: number, dedupId: string): Promise<Stored> {
    for (let tries = 0; tries < 50; tries++) {
      if (!this.terminal && attempt < this.attempt) throw new Superseded();
      const event: Stored = {
        job_id: this.jobId,
        seq: this.seq + 1,
        ts: new Date().toISOString(),
        attempt,
        ...body,
      } as Stored;
      try {
        const ack = await this.js.publish(this.subject, enc.encode(JSON.stringify(event)), {
          msgID: dedupId,
          expect: { lastSubjectSequence: this.terminal ? NEVER : this.pos },
        });
        if (ack.duplicate) {
          // stored before (our earlier try whose answer was lost): that event counts
          const got = await this.get({ seq: ack.seq });
          if (!got) throw new Error(`event at stream sequence ${ack.seq} is gone`);
          if (ack.seq >= this.pos) this.note(got.e, ack.seq);
          return got.e;
        }
        this.note(event, ack.seq);
        return event;
      } catch (err) {
        if ((err as NatsError).api_error?.err_code !== 10071) throw err;
        if (this.terminal) throw new Closed(this.terminal);
        await this.load(); // someone else appended: re-read the tail and decide again
        if (this.terminal) throw new Closed(this.terminal);
      }
    }
    throw new Error(`append to ${this.jobId} lost 50 races`);
  }

  private note(e: Stored, pos: number) {
    Object.assign(this, { seq: e.seq, pos, attempt: e.attempt, terminal: TERMINAL.has(e.type) ? e : null });
  }
}
