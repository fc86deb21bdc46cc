/**
 * A local `node:http` server that speaks the jobstream v1 HTTP contract, for unit tests of the SDK's protocol
 * handling. It is a fake of the *HTTP server* only (no broker behind it): jobs and their events live in a Map, and
 * every stream connection can be steered by a hook to misbehave the way real networks and servers do — cut the
 * socket mid-frame, end without a terminal event, resend duplicates, skip a seq, answer an error status.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeCursor, encodeCursor } from '@jobstream/contracts/cursor';
import type { AgentEvent, JobEvent } from '@jobstream/contracts/events';
import type { Job, JobStatus } from '@jobstream/contracts/job';

export interface StreamPlan {
  /** Answer with this status and the contract's error body instead of a stream. */
  status?: number;
  code?: string;
  headers?: Record<string, string>;
  /** `retry:` value sent first (default 5). */
  retryMs?: number | null;
  /** Resend the events with these seqs before the requested ones (duplicates). */
  resend?: number[];
  /** Leave out the events with these seqs (a gap). */
  skip?: number[];
  /** Destroy the socket after this many bytes of SSE body (mid-frame if it falls there). */
  cutAfterBytes?: number;
  /** End the response cleanly after this many events (no terminal event ⇒ a drop for the client). */
  endAfterEvents?: number;
  /** Take over the response completely. */
  custom?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface StreamRequest {
  n: number;
  jobId: string;
  /** The cursor the client asked to resume after (`Last-Event-ID` wins over `?after=`), undefined = start. */
  after: string | undefined;
  authorization: string | undefined;
}

interface FakeJob {
  job: Job;
  events: JobEvent[];
  listeners: Set<(e: JobEvent) => void>;
}

export interface FakeServerOptions {
  /** When set, every request needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Decides how each stream connection behaves; undefined = by the contract. */
  onStream?: (req: StreamRequest) => StreamPlan | undefined;
}

export class FakeJobstreamServer {
  readonly server: Server;
  readonly jobs = new Map<string, FakeJob>();
  readonly streamRequests: StreamRequest[] = [];
  readonly requests: { method: string; path: string; search: string; headers: IncomingMessage['headers'] }[] = [];
  private counter = 0;
  baseUrl = '';

  constructor(private readonly opts: FakeServerOptions = {}) {
    // a handler that throws (a malformed body) drops the connection instead of an unhandled rejection
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Adds a job with these events (stamped seq 1…, attempt from the latest `attempt` event). */
  addJob(events: AgentEvent[] = [], id = `job_${String(++this.counter).padStart(26, '0')}`): string {
    const now = new Date(0).toISOString();
    const job: Job = {
      id,
      agent: 'echo',
      status: 'queued',
      created_at: now,
      started_at: null,
      finished_at: null,
      attempt: 1,
      last_event_id: null,
      usage: { input_tokens: 0, output_tokens: 0 },
      error: null,
      metadata: null,
      stream_url: `/v1/jobs/${id}/stream`,
      events_url: `/v1/jobs/${id}/events`,
    };
    this.jobs.set(id, { job, events: [], listeners: new Set() });
    for (const e of events) this.append(id, e);
    return id;
  }

  /** Appends an event, updating the job and pushing it to open streams. */
  append(jobId: string, e: AgentEvent): JobEvent {
    const j = this.jobs.get(jobId)!;
    if (e.type === 'attempt') j.job.attempt = e.attempt;
    const ev = {
      ...e,
      job_id: jobId,
      seq: j.events.length + 1,
      ts: new Date(0).toISOString(),
      attempt: j.job.attempt,
    } as JobEvent;
    j.events.push(ev);
    j.job.last_event_id = cursorOf(ev);
    const status: JobStatus | undefined =
      e.type === 'status'
        ? e.status
        : e.type === 'done'
          ? 'completed'
          : e.type === 'error'
            ? 'failed'
            : e.type === 'cancelled'
              ? 'cancelled'
              : undefined;
    if (status) j.job.status = status;
    if (e.type === 'error') j.job.error = { code: e.code, message: e.message };
    for (const l of j.listeners) l(ev);
    return ev;
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, code: string, headers?: Record<string, string>): void {
    this.send(res, status, { error: { code, message: `${code} (fake)` } }, headers);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, search: url.search, headers: req.headers });
    if (this.opts.apiKey && req.headers.authorization !== `Bearer ${this.opts.apiKey}`)
      return this.error(res, 401, 'unauthorized');
    const parts = url.pathname.split('/').filter(Boolean); // v1 jobs :id action
    if (parts[0] !== 'v1' || parts[1] !== 'jobs') return this.error(res, 404, 'not_found');
    if (parts.length === 2 && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as { agent?: string; input?: { message?: string } };
      if (body.agent !== 'echo' || typeof body.input?.message !== 'string')
        return this.error(res, 400, 'invalid_request');
      const tokens = body.input.message.match(/\S+\s*|\s+/g) ?? [];
      const id = this.addJob([
        { type: 'status', status: 'running' },
        ...tokens.map((text) => ({ type: 'token' as const, text })),
        {
          type: 'done',
          usage: { input_tokens: 0, output_tokens: tokens.length },
          output: { text: body.input.message },
        },
      ]);
      return this.send(res, 201, this.jobs.get(id)!.job);
    }
    if (parts.length === 2 && req.method === 'GET') {
      const items = [...this.jobs.values()].map((j) => j.job).reverse();
      return this.send(res, 200, { items, next_cursor: null });
    }
    const j = this.jobs.get(parts[2] ?? '');
    if (!j) return this.error(res, 404, 'not_found');
    const action = parts[3];
    if (action === undefined && req.method === 'GET') return this.send(res, 200, j.job);
    if (action === 'cancel' && req.method === 'POST') {
      if (!['completed', 'failed', 'cancelled'].includes(j.job.status))
        this.append(j.job.id, { type: 'cancelled', reason: 'requested', usage: j.job.usage });
      return this.send(res, 202, j.job);
    }
    if (action === 'wait') return this.send(res, 200, j.job);
    let after: number;
    try {
      after = decodeCursor(
        j.job.id,
        (req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('after'),
      ).seq;
    } catch {
      return this.error(res, 400, 'invalid_cursor');
    }
    if (action === 'events') {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const page = j.events.filter((e) => e.seq > after).slice(0, limit);
      const last = page.at(-1);
      return this.send(res, 200, {
        events: page.map((e) => ({ ...e, id: cursorOf(e) })),
        next_after: last ? cursorOf(last) : null,
        has_more: j.events.length > after + page.length,
        status: j.job.status,
      });
    }
    if (action === 'stream') return this.stream(req, res, j, after);
    return this.error(res, 404, 'not_found');
  }

  private stream(req: IncomingMessage, res: ServerResponse, j: FakeJob, after: number): void {
    const sr: StreamRequest = {
      n: this.streamRequests.length + 1,
      jobId: j.job.id,
      after:
        (req.headers['last-event-id'] as string | undefined) ??
        new URL(req.url!, 'http://x').searchParams.get('after') ??
        undefined,
      authorization: req.headers.authorization,
    };
    this.streamRequests.push(sr);
    const plan = this.opts.onStream?.(sr) ?? {};
    if (plan.custom) return plan.custom(req, res);
    if (plan.status) return this.error(res, plan.status, plan.code ?? `http_${plan.status}`, plan.headers);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    });
    let written = 0;
    let events = 0;
    let finished = false;
    const write = (s: string): boolean => {
      if (finished) return false;
      const buf = Buffer.from(s);
      if (plan.cutAfterBytes !== undefined && written + buf.length > plan.cutAfterBytes) {
        res.write(buf.subarray(0, plan.cutAfterBytes - written));
        finished = true;
        // Let the partial bytes go out, then cut the connection hard.
        setImmediate(() => res.socket?.destroy());
        return false;
      }
      written += buf.length;
      res.write(buf);
      return true;
    };
    const finish = () => {
      if (finished) return;
      finished = true;
      j.listeners.delete(onLive);
      res.end();
    };
    const sendEvent = (e: JobEvent): void => {
      if (plan.skip?.includes(e.seq)) return;
      if (!write(`id: ${cursorOf(e)}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)) return;
      events++;
      if (
        ['done', 'error', 'cancelled'].includes(e.type) ||
        (plan.endAfterEvents !== undefined && events >= plan.endAfterEvents)
      )
        finish();
    };
    const onLive = (e: JobEvent) => sendEvent(e);
    write(': connected\n\n');
    if (plan.retryMs !== null) write(`retry: ${plan.retryMs ?? 5}\n\n`);
    for (const seq of plan.resend ?? []) {
      const e = j.events[seq - 1];
      if (e) sendEvent(e);
    }
    for (const e of j.events) if (e.seq > after) sendEvent(e);
    if (!finished) {
      j.listeners.add(onLive);
      res.on('close', () => j.listeners.delete(onLive));
    }
  }
}

export function cursorOf(e: JobEvent): string {
  return encodeCursor(e.job_id, { seq: e.seq, pos: e.seq });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}

/** The events of an echo job of `message` split into tokens the contract's way. */
export function echoEvents(message: string): AgentEvent[] {
  const tokens = message.match(/\S+\s*|\s+/g) ?? [];
  return [
    { type: 'status', status: 'running' },
    ...tokens.map((text) => ({ type: 'token' as const, text })),
    { type: 'done', usage: { input_tokens: 0, output_tokens: tokens.length }, output: { text: message } },
  ];
}
