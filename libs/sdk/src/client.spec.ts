import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from './client.js';
import { JobstreamConnectionError, JobstreamError, isQuotaExceeded, isRetryable, parseRetryAfter } from './errors.js';
import { FakeJobstreamServer, echoEvents } from './testing/fake-server.js';

let server: FakeJobstreamServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('createClient', () => {
  it('calls every REST endpoint with the key and extra headers', async () => {
    server = await new FakeJobstreamServer({ apiKey: 'k-123456789' }).start();
    const client = createClient({ baseUrl: `${server.baseUrl}/`, apiKey: 'k-123456789', headers: { 'X-Trace': 't1' } });
    const job = await client.jobs.create({ agent: 'echo', input: { message: 'hi there' } });
    expect(job).toMatchObject({ agent: 'echo', status: 'completed' });
    expect((await client.jobs.get(job.id)).id).toBe(job.id);
    expect((await client.jobs.list({ limit: 5 })).items.map((j) => j.id)).toEqual([job.id]);
    const all: string[] = [];
    for await (const j of client.jobs.listAll()) all.push(j.id);
    expect(all).toEqual([job.id]);
    const page = await client.jobs.events(job.id, { limit: 2 });
    expect(page.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(page.has_more).toBe(true);
    const next = await client.jobs.events(job.id, { after: page.next_after! });
    expect(next.events[0]!.seq).toBe(3);
    expect(next.events.at(-1)?.type).toBe('done');
    expect((await client.jobs.wait(job.id, { timeoutS: 1 })).status).toBe('completed');
    expect((await client.jobs.cancel(job.id)).status).toBe('completed'); // idempotent on a finished job
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe('Bearer k-123456789');
      expect(r.headers['x-trace']).toBe('t1');
    }
    expect(server.requests.find((r) => r.method === 'POST' && r.path === '/v1/jobs')?.headers['content-type']).toBe(
      'application/json',
    );
    expect(server.requests.find((r) => r.path.endsWith('/wait'))).toBeDefined();
  });

  it('sends Idempotency-Key and tells a replay (200) from a creation (201)', async () => {
    const seen: (string | undefined)[] = [];
    const http = createServer((req, res) => {
      seen.push(req.headers['idempotency-key'] as string | undefined);
      res
        .writeHead(seen.length === 1 ? 201 : 200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ id: 'job_1' }));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const client = createClient({ baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}` });
    const a = await client.jobs.createWithInfo({ agent: 'echo', input: {} }, { idempotencyKey: 'idem-1' });
    const b = await client.jobs.createWithInfo({ agent: 'echo', input: {} }, { idempotencyKey: 'idem-1' });
    http.close();
    expect([a.replayed, b.replayed]).toEqual([false, true]);
    expect(seen).toEqual(['idem-1', 'idem-1']);
  });

  it('keys every create (a new key when none is given) and retries with that same key after a 503 or a lost answer', async () => {
    const seen: { path: string; key: string | undefined; body: string }[] = [];
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ path: req.url!, key: req.headers['idempotency-key'] as string | undefined, body });
        const n = seen.filter((r) => r.path === req.url && r.key === req.headers['idempotency-key']).length;
        // each create: first try 503, second try the connection is cut (the answer is lost), third try 201
        if (n === 1) {
          res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '0' });
          return res.end(JSON.stringify({ error: { code: 'service_unavailable', message: 'later' } }));
        }
        if (n === 2) return req.socket.destroy();
        res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: 'job_1', items: [] }));
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const client = createClient({ baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}` });
    try {
      await client.jobs.create({ agent: 'echo', input: {} });
      await client.jobs.create({ agent: 'echo', input: {} }, { idempotencyKey: 'mine-1' });
      await client.jobs.rerun('job_0');
      await client.threads.send('thr_0', { message: 'hi' });
      await client.jobs.batch([
        { agent: 'echo', input: {} },
        { agent: 'echo', input: {}, idempotency_key: 'item-2' },
      ]);
    } finally {
      http.close();
    }
    const keysOf = (path: string) => seen.filter((r) => r.path === path).map((r) => r.key);
    const jobs = keysOf('/v1/jobs');
    expect(jobs).toHaveLength(6);
    expect(new Set(jobs.slice(0, 3)).size).toBe(1); // one generated key, reused by both retries
    expect(jobs[0]).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(jobs.slice(3)).toEqual(['mine-1', 'mine-1', 'mine-1']);
    for (const path of ['/v1/jobs/job_0/rerun', '/v1/threads/thr_0/jobs']) {
      const keys = keysOf(path);
      expect(keys).toHaveLength(3);
      expect(keys[0]).toEqual(expect.any(String));
      expect(new Set(keys).size).toBe(1);
    }
    // a batch: each item keyed, the same keys on every try
    const batches = seen.filter((r) => r.path === '/v1/jobs/batch').map((r) => JSON.parse(r.body).jobs);
    expect(batches).toHaveLength(3);
    expect(batches[0][0].idempotency_key).toEqual(expect.any(String));
    expect(batches[0][1].idempotency_key).toBe('item-2');
    expect(batches[1]).toEqual(batches[0]);
    expect(batches[2]).toEqual(batches[0]);
  });

  it('gives up a create after createRetries, and never retries a final 4xx', async () => {
    let calls = 0;
    const http = createServer((_req, res) => {
      calls++;
      const status = calls <= 2 ? 503 : 400;
      res
        .writeHead(status, { 'Content-Type': 'application/json', 'Retry-After': '0' })
        .end(
          JSON.stringify({ error: { code: status === 400 ? 'invalid_request' : 'service_unavailable', message: 'x' } }),
        );
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      await expect(
        createClient({ baseUrl, createRetries: 1 }).jobs.create({ agent: 'echo', input: {} }),
      ).rejects.toMatchObject({
        status: 503,
      });
      expect(calls).toBe(2);
      await expect(createClient({ baseUrl }).jobs.create({ agent: 'echo', input: {} })).rejects.toMatchObject({
        status: 400,
      });
      expect(calls).toBe(3);
    } finally {
      http.close();
    }
  });

  it('turns error bodies into JobstreamError with status, code, message and Retry-After', async () => {
    const answers: [number, string, Record<string, string>][] = [
      [404, JSON.stringify({ error: { code: 'not_found', message: 'no such job' } }), {}],
      [429, JSON.stringify({ error: { code: 'rate_limited', message: 'slow down' } }), { 'Retry-After': '3' }],
      [502, '<html>bad gateway</html>', {}],
      [
        429,
        JSON.stringify({ error: { code: 'quota_exceeded', message: 'at most 5 active jobs' } }),
        { 'Retry-After': '5' },
      ],
      [429, JSON.stringify({ error: { code: 'quota_exceeded', message: 'at most 2 threads' } }), {}],
    ];
    const http = createServer((_req, res) => {
      const [status, body, headers] = answers.shift()!;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(body);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const client = createClient({
      baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      apiKey: 'never-in-messages',
    });
    const e1 = (await client.jobs.get('job_x').catch((e: unknown) => e)) as JobstreamError;
    const e2 = (await client.jobs.get('job_x').catch((e: unknown) => e)) as JobstreamError;
    const e3 = (await client.jobs.get('job_x').catch((e: unknown) => e)) as JobstreamError;
    const e4 = (await client.jobs.get('job_x').catch((e: unknown) => e)) as JobstreamError;
    const e5 = (await client.jobs.get('job_x').catch((e: unknown) => e)) as JobstreamError;
    http.close();
    // a quota: typed, with its Retry-After; retryable only when waiting helps
    expect([isQuotaExceeded(e4), e4.retryAfterMs, isRetryable(e4)]).toEqual([true, 5000, true]);
    expect([isQuotaExceeded(e5), e5.retryAfterMs, isRetryable(e5)]).toEqual([true, undefined, false]);
    expect(isQuotaExceeded(e2)).toBe(false);
    expect(e1).toBeInstanceOf(JobstreamError);
    expect([e1.status, e1.code, e1.message, e1.retryAfterMs]).toEqual([404, 'not_found', 'no such job', undefined]);
    expect([e2.status, e2.code, e2.retryAfterMs]).toEqual([429, 'rate_limited', 3000]);
    expect([e3.status, e3.code]).toEqual([502, 'http_502']);
    expect([isRetryable(e1), isRetryable(e2), isRetryable(e3)]).toEqual([false, true, true]);
    for (const e of [e1, e2, e3]) expect(`${e.message} ${e.stack}`).not.toContain('never-in-messages');
  });

  it('throws JobstreamConnectionError when the server cannot be reached', async () => {
    const http = createServer();
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as AddressInfo).port;
    await new Promise<void>((r) => http.close(() => r()));
    const err = await createClient({ baseUrl: `http://127.0.0.1:${port}` })
      .jobs.get('job_x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobstreamConnectionError);
    expect((err as JobstreamConnectionError).reason).toBe('network');
    expect(isRetryable(err)).toBe(true);
  });

  it('uses an injected fetch and passes the abort signal', async () => {
    const calls: [string, RequestInit | undefined][] = [];
    const fetch = async (url: string, init?: RequestInit) => {
      calls.push([url, init]);
      return new Response(JSON.stringify({ items: [], next_cursor: null }), { status: 200 });
    };
    const ac = new AbortController();
    await createClient({ baseUrl: 'https://api.example.com/prefix', fetch }).jobs.list({
      status: 'running',
      cursor: 'c 1',
      signal: ac.signal,
    });
    expect(calls[0]![0]).toBe('https://api.example.com/prefix/v1/jobs?status=running&cursor=c+1');
    expect(calls[0]![1]?.signal).toBe(ac.signal);
  });

  it('client.jobs.stream streams through the same settings', async () => {
    server = await new FakeJobstreamServer({ apiKey: 'k-123456789' }).start();
    const id = server.addJob(echoEvents('via the client'));
    const client = createClient({ baseUrl: server.baseUrl, apiKey: 'k-123456789' });
    let text = '';
    for await (const e of client.jobs.stream(id)) if (e.type === 'token') text += e.text;
    expect(text).toBe('via the client');
    expect(server.streamRequests[0]!.authorization).toBe('Bearer k-123456789');
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  });
});
