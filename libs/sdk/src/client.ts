/**
 * `createClient`: typed methods for every endpoint of the v1 contract. Non-2xx answers throw
 * {@link JobstreamError}; network failures throw {@link JobstreamConnectionError}.
 */
import type { EventType, JobEvent } from '@jobstream/contracts/events';
import type { JobSnapshot } from '@jobstream/contracts/snapshot';
import type { CreateJobRequest, InputJobRequest, Job, JobStatus } from '@jobstream/contracts/job';
import type { IfBusy, IssuedShare, Share, Thread } from '@jobstream/contracts/threads';
import type { ErrorBody } from '@jobstream/contracts/errors';
import {
  createStreamWith,
  type JobStream,
  type JobStreamItem,
  type SnapshotStreamOptions,
  type StreamOptions,
} from './stream.js';
import { Transport, type ConnectionOptions, type HasTransport } from './transport.js';
import { createWebhooksApi, type WebhooksApi } from './webhooks.js';
import { DEFAULT_CREATE_RETRIES, newIdempotencyKey, withCreateRetries } from './create-retry.js';

export interface ClientOptions extends ConnectionOptions {
  /**
   * Retries of a create (job, rerun, thread turn, batch) after a lost answer or a 408/429/5xx, always with the same
   * Idempotency-Key (made up when the caller gives none), so a retry never runs a job twice. Default 3; 0 = none.
   */
  createRetries?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface CreateJobOptions extends RequestOptions {
  /**
   * Same key + same body ⇒ the same job again (`replayed: true`); same key + another body ⇒ 409. Default: a random
   * key per call, reused by the SDK's own retries.
   */
  idempotencyKey?: string;
}

export interface CreatedJob {
  job: Job;
  /** true when the server answered 200 for an idempotent replay instead of 201. */
  replayed: boolean;
}

export interface ListJobsParams extends RequestOptions {
  status?: JobStatus;
  limit?: number;
  cursor?: string;
}

export interface JobPage {
  items: Job[];
  next_cursor: string | null;
}

/** A polled event: the JobEvent plus its cursor as `id`. */
export type PolledEvent = JobEvent & { id: string };

export interface EventsPage {
  events: PolledEvent[];
  next_after: string | null;
  has_more: boolean;
  status: JobStatus;
}

export interface EventsParams extends RequestOptions {
  after?: string;
  limit?: number;
  /** Only these event types (terminal events always come); `next_after` then goes on after the last event looked at. */
  types?: readonly EventType[];
}

export interface SnapshotParams extends RequestOptions {
  /** The cursor to describe; absent ⇒ now (the newest event), `"0"` ⇒ before the first. */
  at?: string;
}

/** A snapshot from `GET /v1/jobs/:id/snapshot`, with `id`: the cursor it describes (resume after it). */
export type PlacedSnapshot = JobSnapshot & { id: string };

export interface WaitParams extends RequestOptions {
  /** Server-side wait in seconds (the server caps it). */
  timeoutS?: number;
}

export interface JobsApi {
  /** `POST /v1/jobs` — the created job; see {@link createWithInfo} to learn whether it was an idempotent replay. */
  create(body: CreateJobRequest, options?: CreateJobOptions): Promise<Job>;
  /** `POST /v1/jobs`, also telling 201 (new) from 200 (idempotent replay). */
  createWithInfo(body: CreateJobRequest, options?: CreateJobOptions): Promise<CreatedJob>;
  /** `GET /v1/jobs/:id` */
  get(jobId: string, options?: RequestOptions): Promise<Job>;
  /** `GET /v1/jobs?status&limit&cursor` — one page, newest first. */
  list(params?: ListJobsParams): Promise<JobPage>;
  /** Every job matching `status`, following `next_cursor`. */
  listAll(params?: Omit<ListJobsParams, 'cursor'>): AsyncIterable<Job>;
  /** `POST /v1/jobs/:id/cancel` — idempotent; the job as it is right after the request. */
  cancel(jobId: string, options?: RequestOptions & { reason?: string }): Promise<Job>;
  /**
   * `POST /v1/jobs/:id/input` — answers the job's open `input_required`; the job goes on. The same answer
   * again is fine (the server answers 200); another answer to an answered request throws `already_answered`, one
   * to a request that is not open `not_waiting`, one that fails the request's schema `invalid_request`.
   */
  input(jobId: string, answer: InputJobRequest, options?: RequestOptions): Promise<Job>;
  /** `GET /v1/jobs/:id/events?after&limit` — the polling fallback. */
  events(jobId: string, params?: EventsParams): Promise<EventsPage>;
  /** `GET /v1/jobs/:id/wait?timeout_s` — the job once terminal, or as it is when the server-side wait ends. */
  wait(jobId: string, params?: WaitParams): Promise<Job>;
  /** `GET /v1/jobs/:id/snapshot?at` — the job's state at a cursor (now by default). */
  snapshot(jobId: string, params?: SnapshotParams): Promise<PlacedSnapshot>;
  /** `GET /v1/jobs/:id/stream` — see `createStream`. */
  stream(jobId: string, options: SnapshotStreamOptions): JobStream<JobStreamItem>;
  stream(jobId: string, options?: StreamOptions): JobStream;
  /** `POST /v1/jobs/:id/rerun` — a new job with the same agent, input, metadata and `rerun_of` (a thread's job: a new turn). */
  rerun(jobId: string, options?: RerunOptions): Promise<Job>;
  /** `POST /v1/jobs/batch` — 1 to 100 jobs, each created on its own: one `{ job }` or `{ error }` per item, in order. */
  batch(items: BatchJobItem[], options?: RequestOptions): Promise<{ items: BatchResultItem[] }>;
  /** `DELETE /v1/jobs/:id` — removes a finished job and its events (409 `job_active` while it may run). */
  delete(jobId: string, options?: RequestOptions): Promise<void>;
  /** `POST /v1/jobs/:id/shares` — a read-only, revocable share link (the token is shown only here). */
  share(jobId: string, options?: RequestOptions & { expiresInS?: number }): Promise<IssuedShare>;
  /** `GET /v1/jobs/:id/shares` — the job's live share links (without tokens). */
  listShares(jobId: string, options?: RequestOptions): Promise<Share[]>;
  /** `DELETE /v1/jobs/:id/shares/:share_id` — revokes a share link at once, on every API instance */
  revokeShare(jobId: string, shareId: string, options?: RequestOptions): Promise<void>;
}

export interface RerunOptions extends RequestOptions {
  /** For a job of a thread: what to do while the thread has an active turn (default `reject`). */
  ifBusy?: IfBusy;
  idempotencyKey?: string;
}

export type BatchJobItem = CreateJobRequest & { idempotency_key?: string };
export type BatchResultItem = { job: Job } | ErrorBody;

export interface ThreadPage {
  items: Thread[];
  next_cursor: string | null;
}

export interface CreateTurnOptions extends RequestOptions {
  /** What to do while the thread has an active turn: `reject` (409 `thread_busy`, the default), `interrupt`, `enqueue`. */
  ifBusy?: IfBusy;
  metadata?: Record<string, unknown>;
  idempotencyKey?: string;
}

export interface ThreadsApi {
  /** `POST /v1/threads` — a conversation with one agent. */
  create(body: { agent: string; metadata?: Record<string, unknown> }, options?: RequestOptions): Promise<Thread>;
  /** `GET /v1/threads/:id` */
  get(threadId: string, options?: RequestOptions): Promise<Thread>;
  /** `GET /v1/threads?limit&cursor` — newest first. */
  list(params?: RequestOptions & { limit?: number; cursor?: string }): Promise<ThreadPage>;
  /** `POST /v1/threads/:id/jobs` — a new turn (a job with `thread_id` and `turn`); its agent sees the conversation so far. */
  send(threadId: string, input: Record<string, unknown>, options?: CreateTurnOptions): Promise<Job>;
  /** `GET /v1/threads/:id/jobs?limit&cursor` — the turns in order. */
  turns(threadId: string, params?: RequestOptions & { limit?: number; cursor?: string }): Promise<JobPage>;
  /** `DELETE /v1/threads/:id` — the thread, its jobs and their events (409 `thread_busy` while a turn is active). */
  delete(threadId: string, options?: RequestOptions): Promise<void>;
}

/** An agent of the catalogue: what workers announced, and how many live workers serve it now. */
export interface AgentInfo {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the job input. */
  input_schema: Record<string, unknown>;
  /** Live workers serving the agent now (0: its jobs wait `queued`). */
  workers: number;
}

export interface AgentsApi {
  /** `GET /v1/agents` — every agent workers have announced. */
  list(options?: RequestOptions): Promise<{ items: AgentInfo[] }>;
}

export interface JobstreamClient extends HasTransport {
  readonly jobs: JobsApi;
  readonly threads: ThreadsApi;
  /** The agent catalogue. */
  readonly agents: AgentsApi;
  /** Webhook endpoints and delivery logs. */
  readonly webhooks: WebhooksApi;
}

export function createClient(options: ClientOptions): JobstreamClient {
  const t = new Transport(options);
  const id = (jobId: string) => {
    if (!jobId) throw new TypeError('jobstream: jobId is required');
    return encodeURIComponent(jobId);
  };
  const withSignal = (o?: RequestOptions) => (o?.signal ? { signal: o.signal } : {});
  /** A create: keyed (the caller's key or a new one) and retried with that key (create-retry.ts). */
  const create = <T>(path: string, body: unknown, o?: RequestOptions & { idempotencyKey?: string }) => {
    const headers = { 'Idempotency-Key': o?.idempotencyKey || newIdempotencyKey() };
    return withCreateRetries(
      () => t.json<T>('POST', path, { body, headers, ...withSignal(o) }),
      options.createRetries ?? DEFAULT_CREATE_RETRIES,
      o?.signal,
    );
  };

  const jobs: JobsApi = {
    async create(body, o) {
      return (await jobs.createWithInfo(body, o)).job;
    },
    async createWithInfo(body, o) {
      const r = await create<Job>('/v1/jobs', body, o);
      return { job: r.body, replayed: r.status === 200 };
    },
    async get(jobId, o) {
      return (await t.json<Job>('GET', `/v1/jobs/${id(jobId)}`, withSignal(o))).body;
    },
    async list(p) {
      const query = { status: p?.status, limit: p?.limit, cursor: p?.cursor };
      return (await t.json<JobPage>('GET', '/v1/jobs', { query, ...withSignal(p) })).body;
    },
    async *listAll(p) {
      let cursor: string | undefined;
      do {
        const page = await jobs.list({ ...p, ...(cursor ? { cursor } : {}) });
        yield* page.items;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    },
    async cancel(jobId, o) {
      const body = o?.reason !== undefined ? { reason: o.reason } : {};
      return (await t.json<Job>('POST', `/v1/jobs/${id(jobId)}/cancel`, { body, ...withSignal(o) })).body;
    },
    async input(jobId, answer, o) {
      const body = { request_id: answer.request_id, input: answer.input };
      return (await t.json<Job>('POST', `/v1/jobs/${id(jobId)}/input`, { body, ...withSignal(o) })).body;
    },
    async events(jobId, p) {
      const query = { after: p?.after, limit: p?.limit, types: p?.types?.length ? p.types.join(',') : undefined };
      return (await t.json<EventsPage>('GET', `/v1/jobs/${id(jobId)}/events`, { query, ...withSignal(p) })).body;
    },
    async wait(jobId, p) {
      const query = { timeout_s: p?.timeoutS };
      return (await t.json<Job>('GET', `/v1/jobs/${id(jobId)}/wait`, { query, ...withSignal(p) })).body;
    },
    async snapshot(jobId, p) {
      return (
        await t.json<PlacedSnapshot>('GET', `/v1/jobs/${id(jobId)}/snapshot`, {
          query: { at: p?.at },
          ...withSignal(p),
        })
      ).body;
    },
    stream: ((jobId: string, o?: StreamOptions) =>
      createStreamWith(t, jobId, o as SnapshotStreamOptions)) as JobsApi['stream'],
    async rerun(jobId, o) {
      const body = o?.ifBusy ? { if_busy: o.ifBusy } : {};
      return (await create<Job>(`/v1/jobs/${id(jobId)}/rerun`, body, o)).body;
    },
    async batch(items, o) {
      // every item keyed, so that a retried batch creates each job once
      const jobs = items.map((it) => (it.idempotency_key ? it : { ...it, idempotency_key: newIdempotencyKey() }));
      return (await create<{ items: BatchResultItem[] }>('/v1/jobs/batch', { jobs }, o)).body;
    },
    async delete(jobId, o) {
      await t.json<void>('DELETE', `/v1/jobs/${id(jobId)}`, withSignal(o));
    },
    async share(jobId, o) {
      const body = o?.expiresInS !== undefined ? { expires_in_s: o.expiresInS } : {};
      return (await t.json<IssuedShare>('POST', `/v1/jobs/${id(jobId)}/shares`, { body, ...withSignal(o) })).body;
    },
    async listShares(jobId, o) {
      return (await t.json<{ items: Share[] }>('GET', `/v1/jobs/${id(jobId)}/shares`, withSignal(o))).body.items;
    },
    async revokeShare(jobId, shareId, o) {
      await t.json<void>('DELETE', `/v1/jobs/${id(jobId)}/shares/${encodeURIComponent(shareId)}`, withSignal(o));
    },
  };
  const tid = (threadId: string) => {
    if (!threadId) throw new TypeError('jobstream: threadId is required');
    return encodeURIComponent(threadId);
  };
  const threads: ThreadsApi = {
    async create(body, o) {
      return (await t.json<Thread>('POST', '/v1/threads', { body, ...withSignal(o) })).body;
    },
    async get(threadId, o) {
      return (await t.json<Thread>('GET', `/v1/threads/${tid(threadId)}`, withSignal(o))).body;
    },
    async list(p) {
      return (
        await t.json<ThreadPage>('GET', '/v1/threads', {
          query: { limit: p?.limit, cursor: p?.cursor },
          ...withSignal(p),
        })
      ).body;
    },
    async send(threadId, input, o) {
      const body = {
        input,
        ...(o?.metadata ? { metadata: o.metadata } : {}),
        ...(o?.ifBusy ? { if_busy: o.ifBusy } : {}),
      };
      return (await create<Job>(`/v1/threads/${tid(threadId)}/jobs`, body, o)).body;
    },
    async turns(threadId, p) {
      return (
        await t.json<JobPage>('GET', `/v1/threads/${tid(threadId)}/jobs`, {
          query: { limit: p?.limit, cursor: p?.cursor },
          ...withSignal(p),
        })
      ).body;
    },
    async delete(threadId, o) {
      await t.json<void>('DELETE', `/v1/threads/${tid(threadId)}`, withSignal(o));
    },
  };
  const agents: AgentsApi = {
    async list(o) {
      return (await t.json<{ items: AgentInfo[] }>('GET', '/v1/agents', withSignal(o))).body;
    },
  };
  return { transport: t, jobs, threads, agents, webhooks: createWebhooksApi(t) };
}
