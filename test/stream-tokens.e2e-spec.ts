/** Browser stream tokens end to end: issue, use on the stream (EventSource style, no header), and every refusal. */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { STREAM_TOKEN_CLOCK, type Clock } from '../src/auth/auth.constants.js';
import { startApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config/config.js';
import { hashKey } from '../src/config/key-hash.js';
import { startTestApp, type TestApp } from './support/app.js';
import { openSse, readAll, tokenText } from './support/sse-client.js';

const ACME = 'acme-key-0001';
const GLOBEX = 'globex-key-0002';
const SECRET = 'shared-stream-token-secret-0123456789abcdef';
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

type Issued = { token: string; expires_at: string; stream_url: string };

async function createJob(
  app: TestApp,
  key: string | null,
  input: Record<string, unknown> = { message: 'hello token world' },
) {
  const r = await app.api('/v1/jobs', { body: { agent: 'echo', input }, headers: key ? auth(key) : {} });
  expect(r.status).toBe(201);
  return r.body as { id: string; stream_url: string };
}

async function issue(app: TestApp, key: string | null, jobId: string): Promise<Issued> {
  const r = await app.api(`/v1/jobs/${jobId}/stream-tokens`, { method: 'POST', headers: key ? auth(key) : {} });
  expect(r.status).toBe(200);
  return r.body as Issued;
}

describe('stream tokens (auth on)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      API_KEYS: `acme:${ACME},globex:${GLOBEX}`,
      STREAM_TOKEN_SECRET: SECRET,
      STREAM_TOKEN_TTL_S: '120',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('issues a token scoped to the job, not cacheable, expiring after STREAM_TOKEN_TTL_S', async () => {
    const job = await createJob(app, ACME);
    const before = Date.now();
    const r = await app.api(`/v1/jobs/${job.id}/stream-tokens`, { method: 'POST', headers: auth(ACME) });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(r.body).sort()).toEqual(['expires_at', 'stream_url', 'token']);
    expect(r.body.stream_url).toBe(`/v1/jobs/${job.id}/stream?access_token=${encodeURIComponent(r.body.token)}`);
    const exp = Date.parse(r.body.expires_at);
    expect(exp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 120_000);
    expect(exp).toBeLessThanOrEqual(Date.now() + 120_000);
  });

  it("needs an API key to issue, and 404s for an unknown job or another tenant's job", async () => {
    const job = await createJob(app, ACME);
    const none = await app.api(`/v1/jobs/${job.id}/stream-tokens`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const foreign = await app.api(`/v1/jobs/${job.id}/stream-tokens`, { method: 'POST', headers: auth(GLOBEX) });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const unknown = await app.api('/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/stream-tokens', {
      method: 'POST',
      headers: auth(ACME),
    });
    expect(unknown.status).toBe(404);
  });

  it('streams the job with the token and no Authorization header, and resumes with ?after=', async () => {
    const message = 'one two three four five six seven eight nine ten';
    const job = await createJob(app, ACME, { message });
    const t = await issue(app, ACME, job.id);
    const full = await readAll(app.url + t.stream_url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('text/event-stream');
    const events = full.events();
    expect(tokenText(events)).toBe(message);
    expect(events[events.length - 1]!.type).toBe('done');
    // resume from the middle with the same token: exactly the rest
    const cut = events[4]!;
    const rest = await readAll(`${app.url}${t.stream_url}&after=${encodeURIComponent(cut.id)}`);
    expect(rest.events().map((e) => e.seq)).toEqual(events.slice(5).map((e) => e.seq));
    // and by Last-Event-ID, as EventSource sends it when it reconnects by itself
    const byHeader = await readAll(app.url + t.stream_url, { headers: { 'Last-Event-ID': cut.id } });
    expect(byHeader.events().map((e) => e.seq)).toEqual(events.slice(5).map((e) => e.seq));
  });

  it('is refused on every other endpoint', async () => {
    const job = await createJob(app, ACME);
    const t = await issue(app, ACME, job.id);
    const q = `access_token=${encodeURIComponent(t.token)}`;
    const calls: [string, string][] = [
      ['GET', `/v1/jobs/${job.id}?${q}`],
      ['GET', `/v1/jobs/${job.id}/events?${q}`],
      ['GET', `/v1/jobs/${job.id}/wait?timeout_s=0&${q}`],
      ['GET', `/v1/jobs?${q}`],
      ['POST', `/v1/jobs/${job.id}/cancel?${q}`],
      ['POST', `/v1/jobs/${job.id}/stream-tokens?${q}`],
      ['POST', `/v1/jobs?${q}`],
    ];
    for (const [method, path] of calls) {
      const r = await app.api(path, {
        method,
        ...(method === 'POST' ? { body: { agent: 'echo', input: { message: 'x' } } } : {}),
      });
      expect({ path, status: r.status, code: r.body?.error?.code }).toEqual({
        path,
        status: 401,
        code: 'unauthorized',
      });
      expect(r.body.error.message).toMatch(/access_token is accepted only by GET \/v1\/jobs\/:id\/stream/);
      expect(JSON.stringify(r.body)).not.toContain(t.token);
    }
    // the job was neither cancelled nor duplicated
    expect((await app.api(`/v1/jobs/${job.id}/wait?timeout_s=20`, { headers: auth(ACME) })).body.status).toBe(
      'completed',
    );
  });

  it("is refused on another job's stream, also across tenants", async () => {
    const mine = await createJob(app, ACME);
    const other = await createJob(app, ACME);
    const theirs = await createJob(app, GLOBEX);
    const t = await issue(app, ACME, mine.id);
    const q = `?access_token=${encodeURIComponent(t.token)}`;
    for (const id of [other.id, theirs.id]) {
      const s = await openSse(`${app.url}/v1/jobs/${id}/stream${q}`);
      expect(s.status).toBe(401);
      expect(s.body).toEqual({ error: { code: 'unauthorized', message: 'this stream token is for another job' } });
    }
    // globex's own token for its job works; acme cannot get one for globex's job (404 above)
    const g = await issue(app, GLOBEX, theirs.id);
    expect((await readAll(app.url + g.stream_url)).status).toBe(200);
  });

  it('is refused when tampered with or malformed, with a message that never echoes it', async () => {
    const job = await createJob(app, ACME);
    const { token } = await issue(app, ACME, job.id);
    const [p, payload, sig] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forge = (c: Record<string, unknown>) => `${p}.${Buffer.from(JSON.stringify(c)).toString('base64url')}.${sig}`;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const bad = [
      forge({ ...claims, t: 'globex' }),
      forge({ ...claims, exp: (claims.exp as number) + 86_400 }),
      `${p}.${payload}.${flip(sig, 2)}`,
      `${p}.${payload}.`,
      'st1.e30.AAAA',
      'not-a-token',
      '',
    ];
    for (const b of bad) {
      const s = await openSse(`${app.url}/v1/jobs/${job.id}/stream?access_token=${encodeURIComponent(b)}`);
      expect({ b, status: s.status, body: s.body }).toEqual({
        b,
        status: 401,
        body: { error: { code: 'unauthorized', message: 'invalid stream token' } },
      });
    }
    // given twice (an array in the query): refused, not guessed
    const twice = await openSse(
      `${app.url}/v1/jobs/${job.id}/stream?access_token=${encodeURIComponent(token)}&access_token=${encodeURIComponent(token)}`,
    );
    expect(twice.status).toBe(401);
  });

  it('is refused once expired (injected clock)', async () => {
    const job = await createJob(app, ACME);
    const t = await issue(app, ACME, job.id);
    const clock = app.app.get<Clock>(STREAM_TOKEN_CLOCK);
    const real = clock.now;
    try {
      clock.now = () => Date.parse(t.expires_at) - 1;
      expect((await readAll(app.url + t.stream_url)).status).toBe(200);
      clock.now = () => Date.parse(t.expires_at);
      const s = await openSse(app.url + t.stream_url);
      expect(s.status).toBe(401);
      expect(s.body).toEqual({ error: { code: 'unauthorized', message: 'stream token expired; request a new one' } });
    } finally {
      clock.now = real;
    }
    // a fresh token works again
    expect((await readAll(app.url + (await issue(app, ACME, job.id)).stream_url)).status).toBe(200);
  });

  it('is not combined with an Authorization header (400), while the header alone still works', async () => {
    const job = await createJob(app, ACME);
    const t = await issue(app, ACME, job.id);
    const both = await openSse(app.url + t.stream_url, { headers: auth(ACME) });
    expect(both.status).toBe(400);
    expect((both.body as { error: { code: string } }).error.code).toBe('invalid_request');
    expect((await readAll(app.url + job.stream_url, { headers: auth(ACME) })).status).toBe(200);
  });

  it('works on another instance that shares STREAM_TOKEN_SECRET, and not on one that does not', async () => {
    // the job store is per instance here (embedded engine), so the shared instance answers 404 *after* accepting it
    const job = await createJob(app, ACME);
    const t = await issue(app, ACME, job.id);
    const shared = await startTestApp({ API_KEYS: `acme:${ACME}`, STREAM_TOKEN_SECRET: SECRET });
    const other = await startTestApp({ API_KEYS: `acme:${ACME}` });
    try {
      expect((await openSse(shared.url + t.stream_url)).status).toBe(404);
      expect((await openSse(other.url + t.stream_url)).status).toBe(401);
    } finally {
      await shared.close();
      await other.close();
    }
  });
});

describe('stream tokens (auth off)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({});
  });
  afterAll(async () => {
    await app?.close();
  });

  it('issues and accepts tokens, still checks a token when one is given, and streams without one', async () => {
    const job = await createJob(app, null, { message: 'open for all' });
    const t = await issue(app, null, job.id);
    expect(tokenText((await readAll(app.url + t.stream_url)).events())).toBe('open for all');
    const tampered = await openSse(app.url + t.stream_url.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
    expect(tampered.status).toBe(401);
    const other = await createJob(app, null);
    expect(
      (await openSse(`${app.url}/v1/jobs/${other.id}/stream?access_token=${encodeURIComponent(t.token)}`)).status,
    ).toBe(401);
    expect((await readAll(app.url + job.stream_url)).status).toBe(200);
  });
});

describe('stream tokens in logs', () => {
  it('never appear in anything the app logs, even at trace level', async () => {
    const lines: string[] = [];
    const capture: LoggerService = {
      log: (...a: unknown[]) => void lines.push(JSON.stringify(a)),
      error: (...a: unknown[]) => void lines.push(JSON.stringify(a)),
      warn: (...a: unknown[]) => void lines.push(JSON.stringify(a)),
      debug: (...a: unknown[]) => void lines.push(JSON.stringify(a)),
      verbose: (...a: unknown[]) => void lines.push(JSON.stringify(a)),
      fatal: (...a: unknown[]) => void lines.push(JSON.stringify(a)),
    };
    const config = loadConfig({ HOST: '127.0.0.1', LOG_LEVEL: 'trace', API_KEYS: `acme:${ACME}` }, hashKey);
    const running = await startApp(config, { port: 0, logger: capture });
    try {
      const created = await fetch(`${running.url}/v1/jobs`, {
        method: 'POST',
        headers: { ...auth(ACME), 'Content-Type': 'application/json' },
        body: JSON.stringify({ agent: 'echo', input: { message: 'secret-free logs' } }),
      });
      const job = (await created.json()) as { id: string };
      const t = (await (
        await fetch(`${running.url}/v1/jobs/${job.id}/stream-tokens`, { method: 'POST', headers: auth(ACME) })
      ).json()) as Issued;
      expect((await readAll(running.url + t.stream_url)).status).toBe(200);
      expect(
        (await openSse(`${running.url}/v1/jobs/${job.id}/stream?access_token=${encodeURIComponent(t.token)}x`)).status,
      ).toBe(401);
      expect((await fetch(`${running.url}/v1/jobs/${job.id}?access_token=${encodeURIComponent(t.token)}`)).status).toBe(
        401,
      );
      // the per-process secret warning is logged (STREAM_TOKEN_SECRET unset)
      expect(lines.join('\n')).toMatch(/STREAM_TOKEN_SECRET is unset/);
      const [, payload, sig] = t.token.split('.') as [string, string, string];
      for (const l of lines) {
        expect(l).not.toContain(payload);
        expect(l).not.toContain(sig);
      }
    } finally {
      await running.close();
    }
  });
});
