/**
 * A worker written from docs/worker-protocol.md alone, as a service in another language would be: plain `nats`
 * calls (KV puts as JetStream publishes on `$KV.…`, a durable pull consumer per dispatch subject, publishes with
 * `Nats-Msg-Id` and `Nats-Expected-Last-Subject-Sequence`, direct gets, core subscriptions) and plain Redis calls
 * (raw-store.ts). It imports nothing of the runner, the job queue or the event log.
 *
 * Its agent (`input`: `{ message, delay_ms?, ask_after? }`) streams the message word by word, and with `ask_after`
 * asks a `text` question after that many words, then streams `<answer text> ` and the rest.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  connect,
  headers as natsHeaders,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { Redis } from 'ioredis';
import { RawStore, type RawRecord } from './raw-store.js';

import { Closed, JobLog, Superseded, type Body, type Stored } from './raw-log.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const STATUS_OF: Record<string, string> = { done: 'completed', error: 'failed', cancelled: 'cancelled' };

export interface RawWorkerOptions {
  natsUrl: string;
  redisUrl: string;
  agent: string;
  /** JOB_STALL_TIMEOUT_MS of the deployment: the consumers' ack wait; heartbeats every third of it. */
  stallMs: number;
  retentionMs: number;
  maxAttempts?: number;
  /** false: ignore `jobstream.control.cancel.*` (a lost cancel message; the record's `cancel_reason` must do). */
  listenControl?: boolean;
  /** The announced definition (default: this worker's own schema of `message`, `delay_ms`, `ask_after`). */
  definition?: { description: string; input_schema: Record<string, unknown> };
  /** Most jobs held at once (default: no bound). */
  concurrency?: number;
  /** Awaited between appending a question and parking the job (a test answers it meanwhile). */
  beforePark?: (requestId: string) => Promise<void>;
}

export class RawWorker {
  readonly workerId = `raw-${randomUUID()}`;
  /** Every dispatch message received: subject, job id, how many times JetStream has delivered it (1 = first). */
  readonly deliveries: { subject: string; jobId: string; delivered: number }[] = [];
  /** Appends whose first publish was repeated on purpose (a lost ack), with what the repeat returned. */
  readonly repeats: { first: Stored; again: Stored }[] = [];
  private readonly running = new Map<string, AbortController>();
  private readonly consumers = new Set<string>();
  private stopped = false;
  /** Dispatch messages received and not yet settled. */
  private held = 0;
  private wake: () => void = () => {};
  private loop: Promise<void> = Promise.resolve();
  private beat: NodeJS.Timeout | undefined;

  private constructor(
    readonly o: RawWorkerOptions,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly redis: Redis,
    private readonly store: RawStore,
  ) {}

  static async start(o: RawWorkerOptions): Promise<RawWorker> {
    const nc = await connect({ servers: o.natsUrl });
    const redis = new Redis(o.redisUrl);
    const w = new RawWorker(
      o,
      nc,
      nc.jetstream(),
      await nc.jetstreamManager(),
      redis,
      new RawStore(redis, o.retentionMs),
    );
    await w.announce();
    w.beat = setInterval(() => void w.announce().catch(() => {}), 5_000);
    if (o.listenControl !== false) {
      nc.subscribe('jobstream.control.cancel.*', {
        callback: (_e, m) => {
          const jobId = m.subject.split('.').pop()!;
          let reason = '';
          try {
            const r = (JSON.parse(dec.decode(m.data)) as { reason?: unknown }).reason;
            reason = typeof r === 'string' ? r : '';
          } catch {
            /* a malformed body still cancels */
          }
          w.running.get(jobId)?.abort(reason);
        },
      });
    }
    // a publish on a dispatch subject of the agent is also a core message: it wakes the idle loop
    nc.subscribe(`jobstream.dispatch.${o.agent}.*`, { callback: () => w.wake() });
    await nc.flush();
    w.loop = w.run();
    return w;
  }

  /** The catalogue: the definition, then this worker's liveness (both plain JetStream publishes on `$KV.…`). */
  async announce(): Promise<void> {
    const def = {
      name: this.o.agent,
      description: 'a worker written against the documented NATS subjects',
      input_schema: {
        type: 'object',
        properties: {
          message: { type: 'string' },
          delay_ms: { type: 'integer', minimum: 0 },
          ask_after: { type: 'integer', minimum: 1 },
        },
        required: ['message'],
        additionalProperties: false,
      },
      ...this.o.definition,
      announced_at: new Date().toISOString(),
    };
    await this.js.publish(`$KV.jobstream_agents.${this.o.agent}`, enc.encode(JSON.stringify(def)));
    const key = `${this.o.agent}.${createHash('sha256').update(this.workerId).digest('hex').slice(0, 32)}`;
    const live = { worker_id: this.workerId, expires_at: Date.now() + 15_000 };
    await this.js.publish(`$KV.jobstream_agent_workers.${key}`, enc.encode(JSON.stringify(live)));
  }

  /** Dies like a killed process: no ack, no end, no withdrawal; its jobs come back after the ack wait. */
  async kill(): Promise<void> {
    this.stopped = true;
    clearInterval(this.beat);
    this.wake();
    await this.nc.close();
    this.redis.disconnect();
  }

  /** Stops taking jobs, withdraws its liveness (a KV delete marker) and closes (call it when no job runs). */
  async stop(): Promise<void> {
    if (this.nc.isClosed()) return;
    this.stopped = true;
    clearInterval(this.beat);
    this.wake();
    await this.loop;
    const key = `${this.o.agent}.${createHash('sha256').update(this.workerId).digest('hex').slice(0, 32)}`;
    const h = natsHeaders();
    h.set('KV-Operation', 'DEL');
    await this.js.publish(`$KV.jobstream_agent_workers.${key}`, new Uint8Array(), { headers: h }).catch(() => {});
    await this.nc.close();
    this.redis.disconnect();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let got = 0;
      try {
        got = await this.pullOnce();
      } catch {
        /* the broker is away: try again after the pause */
      }
      if (got === 0 && !this.stopped)
        await new Promise<void>((r) => {
          const t = setTimeout(r, 1_000);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
    }
  }

  /** One pass: each dispatch subject of the agent holding messages, one `no_wait` pull of one message. */
  private async pullOnce(): Promise<number> {
    const info = await this.jsm.streams.info('JOBSTREAM_DISPATCH', {
      subjects_filter: `jobstream.dispatch.${this.o.agent}.*`,
    });
    let got = 0;
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      if (count <= 0 || this.stopped) continue;
      if (this.held >= (this.o.concurrency ?? Infinity)) break; // no free slot: a finished job wakes the loop
      const durable = `dispatch-${createHash('sha256').update(subject).digest('hex').slice(0, 32)}`;
      if (!this.consumers.has(durable)) {
        await this.jsm.consumers.add('JOBSTREAM_DISPATCH', {
          durable_name: durable,
          description: subject,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: this.o.stallMs * 1_000_000,
          max_deliver: -1,
          max_ack_pending: 10_000,
          filter_subject: subject,
          inactive_threshold: 3_600_000 * 1_000_000,
        });
        this.consumers.add(durable);
      }
      for await (const m of this.js.fetch('JOBSTREAM_DISPATCH', durable, { batch: 1, no_wait: true })) {
        got++;
        this.held++;
        void this.handle(m)
          .catch(() => {
            try {
              m.nak(1_000); // not finished: hand it back
            } catch {
              /* connection closed: it comes back after the ack wait */
            }
          })
          .finally(() => {
            this.held--;
            this.wake();
          });
      }
    }
    return got;
  }

  /** One delivery of a job (the document's "Starting a job"). */
  private async handle(m: JsMsg): Promise<void> {
    const jobId = dec.decode(m.data);
    this.deliveries.push({ subject: m.subject, jobId, delivered: m.info.redeliveryCount });
    const rec = await this.store.get(jobId);
    if (!rec || ['completed', 'failed', 'cancelled', 'waiting_for_input'].includes(rec.status))
      return m.ackAck().then();
    const log = new JobLog(this.nc, this.js, jobId);
    await log.load();
    let attempt = Math.max(1, rec.attempt);
    if (rec.status === 'running') {
      // its previous holder vanished
      if (attempt >= (this.o.maxAttempts ?? 3)) {
        const lost = { type: 'error', code: 'worker_lost', message: 'no attempts left', retryable: false };
        await this.end(log, attempt, { ...lost, usage: rec.usage });
        return m.ackAck().then();
      }
      attempt++;
      await log.append({ type: 'attempt', attempt, reason: 'worker_lost' }, attempt, `${jobId}:${attempt}:a`);
    }
    const req = rec.input_request;
    const answered = rec.status === 'queued' && req?.attempt === attempt && req.answer !== null ? req : null;
    const now = new Date().toISOString();
    const tr = await this.store.transition(jobId, 'running', {
      from: ['queued', 'running'],
      patch: { attempt, heartbeat_at: now, dispatched_at: rec.dispatched_at ?? now },
    });
    if (!tr.changed) return m.ackAck().then(); // cancelled meanwhile
    const sDedup = answered ? `${jobId}:${attempt}:s:${answered.request_id}` : `${jobId}:${attempt}:s`;
    await log.append({ type: 'status', status: 'running' }, attempt, sDedup);

    const abort = new AbortController();
    this.running.set(jobId, abort);
    if (tr.job!.cancel_reason !== null) abort.abort(tr.job!.cancel_reason);
    const beat = setInterval(
      () => {
        m.working(); // in-progress ack: the consumer's ack wait starts again
        const alive = (r: RawRecord) => (r.status === 'running' ? { heartbeat_at: new Date().toISOString() } : null);
        this.store.update(jobId, alive).catch(() => {}); // a missed beat matters only if they stay missing
        this.store.get(jobId).then(
          (r) => r?.cancel_reason != null && abort.abort(r.cancel_reason),
          () => {},
        );
      },
      Math.max(1_000, Math.floor(this.o.stallMs / 3)),
    );
    try {
      await this.runAgent(log, tr.job!, attempt, abort.signal);
      await m.ackAck(); // ended, or parked (the answer dispatches the job again)
    } catch (err) {
      if (err instanceof Superseded) return; // a newer attempt holds the job: write nothing, neither ack nor nak
      throw err;
    } finally {
      clearInterval(beat);
      this.running.delete(jobId);
    }
  }

  private async runAgent(log: JobLog, job: RawRecord, attempt: number, signal: AbortSignal): Promise<'end' | 'parked'> {
    const id = job.id;
    const input = job.input as { message: string; delay_ms?: number; ask_after?: number };
    const words = input.message.match(/\S+\s*/g) ?? [];
    const usage = { ...job.usage };
    // this attempt's events so far (a continuation after an answer); the rounds keep dedup ids apart
    const history = (await log.all()).filter((e) => e.attempt === attempt);
    const answers = history.filter((e) => e.type === 'input_received');
    let round = answers.length;
    const sent = history.filter((e) => e.type === 'token').length; // the words streamed before the question
    let n = 0;
    const emit = async (body: Body) => {
      n++;
      return log.append(body, attempt, round === 0 ? `${id}:${attempt}:${n}` : `${id}:${attempt}:r${round}:${n}`);
    };
    try {
      let text = history
        .filter((e) => e.type === 'token')
        .map((e) => e.text as string)
        .join('');
      if (round > 0) {
        const answer = `${(answers.at(-1)!.input as { text: string }).text} `;
        await emit({ type: 'token', text: answer });
        text += answer;
      }
      for (let i = sent; i < words.length; i++) {
        if (signal.aborted) break;
        if (input.delay_ms) await new Promise((r) => setTimeout(r, input.delay_ms));
        if (signal.aborted) break;
        const stored = await emit({ type: 'token', text: words[i]! });
        text += words[i];
        usage.output_tokens++;
        if (i === 0 && round === 0) {
          // the first append again with its dedup id, as after a lost ack: JetStream answers `duplicate`
          const again = await log.append({ type: 'token', text: words[i]! }, attempt, `${id}:${attempt}:${n}`);
          this.repeats.push({ first: stored, again });
        }
        if (round === 0 && input.ask_after === i + 1) {
          const asked = await this.ask(log, job, attempt, usage, emit);
          if (asked === 'parked') return 'parked';
          // answered while this run still held the job: go on here, with the next round's dedup ids
          round = 1;
          n = 0;
          const answer = `${asked.text} `;
          await emit({ type: 'token', text: answer });
          text += answer;
        }
      }
      if (signal.aborted) {
        await this.end(log, attempt, { type: 'cancelled', reason: String(signal.reason ?? ''), usage });
        return 'end';
      }
      await this.end(log, attempt, { type: 'done', usage, output: { text } });
      return 'end';
    } catch (err) {
      if (err instanceof Closed) {
        await this.settle(id, err.terminal); // ended elsewhere (a cancel of the API, the watchdog)
        return 'end';
      }
      throw err;
    }
  }

  /** The document's "Asking for input": record, append, park (or go on when answered meanwhile). */
  private async ask(
    log: JobLog,
    job: RawRecord,
    attempt: number,
    usage: RawRecord['usage'],
    emit: (b: Body) => Promise<Stored>,
  ): Promise<'parked' | { text: string }> {
    const id = job.id;
    const request_id = `req_${randomUUID().replace(/-/g, '')}`;
    const schema = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
    const expires_at = new Date(Date.now() + 3_600_000).toISOString();
    const question = { request_id, kind: 'text', prompt: 'your name?', schema, expires_at };
    const rec = { ...question, attempt, answer: null, answered_at: null };
    const asked = await this.store.transition(id, 'running', {
      from: ['running'],
      where: (r) => r.attempt === attempt,
      patch: { input_request: rec, usage },
    });
    if (!asked.changed) throw new Error('the job moved on before its question was recorded');
    await emit({ type: 'input_required', ...question });
    await this.o.beforePark?.(request_id);
    const open = (r: RawRecord) =>
      r.attempt === attempt && r.input_request?.request_id === request_id && r.input_request.answer === null;
    const parked = await this.store.transition(id, 'waiting_for_input', {
      from: ['running'],
      where: open,
      patch: { usage, heartbeat_at: null },
    });
    if (!parked.changed) {
      const cur = parked.job;
      const req = cur?.input_request;
      if (cur?.status !== 'running' || cur.attempt !== attempt || req?.request_id !== request_id || !req.answer)
        throw new Error('the job moved on while it was being parked (not exercised by this worker)');
      // answered before it was parked: the answer's events, and this run goes on
      await log.append({ type: 'input_received', request_id, input: req.answer }, attempt, `${id}:input:${request_id}`);
      await log.append({ type: 'status', status: 'running' }, attempt, `${id}:${attempt}:s:${request_id}`);
      return req.answer as { text: string };
    }
    await log.append({ type: 'status', status: 'waiting_for_input' }, attempt, `${id}:${attempt}:w:${request_id}`);
    if (parked.job!.cancel_reason !== null) {
      const reason = parked.job!.cancel_reason;
      await this.end(log, attempt, { type: 'cancelled', reason, usage }, `${id}:cancelled`);
    }
    return 'parked';
  }

  /** Appends the terminal event (dedup `<job>:<attempt>:end`) and settles the record from the log's terminal event. */
  private async end(log: JobLog, attempt: number, ev: Body, dedupId = `${log.jobId}:${attempt}:end`): Promise<void> {
    let terminal: Stored;
    try {
      terminal = await log.append(ev, attempt, dedupId);
    } catch (err) {
      if (!(err instanceof Closed)) throw err;
      terminal = err.terminal;
    }
    await this.settle(log.jobId, terminal);
  }

  private async settle(jobId: string, t: Stored): Promise<void> {
    const patch = {
      usage: t.usage as RawRecord['usage'],
      error: t.type === 'error' ? { code: t.code as string, message: t.message as string } : null,
      finished_at: t.ts,
    };
    const tr = await this.store.transition(jobId, STATUS_OF[t.type]!, { patch });
    if (!tr.changed && tr.job?.status === STATUS_OF[t.type] && tr.job.finished_at !== t.ts)
      await this.store.update(jobId, () => patch);
  }
}
