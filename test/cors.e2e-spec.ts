/** CORS from CORS_ORIGINS: preflight and simple requests, a list of origins, `*`, and off by default. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './support/app.js';
import { openSse } from './support/sse-client.js';

const APP_ORIGIN = 'https://app.example.com';
const KEY = 'acme-key-0001';

async function preflight(app: TestApp, path: string, origin: string, method: string, headers: string) {
  return fetch(app.url + path, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
  });
}

describe('CORS with a list of origins', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ CORS_ORIGINS: `${APP_ORIGIN}, http://localhost:5173`, API_KEYS: `acme:${KEY}` });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers a preflight for an allowed origin with the allowed and exposed headers, before auth', async () => {
    const r = await preflight(app, '/v1/jobs', APP_ORIGIN, 'POST', 'authorization,content-type,idempotency-key');
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    const allowed = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',');
    expect(allowed.sort()).toEqual(
      [
        'authorization',
        'content-type',
        'idempotency-key',
        'last-event-id',
        // the Durable Streams protocol's request headers (/ds)
        'stream-closed',
        'stream-ttl',
        'stream-expires-at',
        'stream-seq',
        'stream-forked-from',
        'stream-fork-offset',
        'stream-fork-sub-offset',
        'producer-id',
        'producer-epoch',
        'producer-seq',
        'if-none-match',
      ].sort(),
    );
    expect(r.headers.get('access-control-allow-methods')).toBe('GET,HEAD,POST,PUT,DELETE,OPTIONS');
    expect(r.headers.get('access-control-max-age')).toBe('600');
    expect(r.headers.get('vary')?.toLowerCase()).toContain('origin');
  });

  it('allows Last-Event-ID on a stream preflight (EventSource reconnects)', async () => {
    const r = await preflight(
      app,
      '/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/stream',
      'http://localhost:5173',
      'GET',
      'last-event-id',
    );
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('adds CORS headers to simple requests, to errors, and to the SSE stream, exposing Location, Retry-After and the resume v2 headers', async () => {
    const created = await fetch(`${app.url}/v1/jobs`, {
      method: 'POST',
      headers: { Origin: APP_ORIGIN, Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ agent: 'echo', input: { message: 'cross origin' } }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(created.headers.get('access-control-expose-headers')).toBe(
      'Retry-After,Location,X-Jobstream-Filter,x-vercel-ai-ui-message-stream,X-Jobstream-Job-Id,X-Jobstream-Stream-Url,' +
        'Stream-Next-Offset,Stream-Up-To-Date,Stream-Cursor,Stream-Closed,Stream-TTL,Stream-Expires-At,' +
        'Stream-SSE-Data-Encoding,Producer-Epoch,Producer-Seq,Producer-Expected-Seq,Producer-Received-Seq,ETag',
    );
    const job = (await created.json()) as { id: string; stream_url: string };

    const denied = await fetch(`${app.url}/v1/jobs/${job.id}`, { headers: { Origin: APP_ORIGIN } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);

    const s = await openSse(app.url + job.stream_url, {
      headers: { Origin: APP_ORIGIN, Authorization: `Bearer ${KEY}` },
    });
    expect(s.status).toBe(200);
    expect(s.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(s.headers.get('content-type')).toBe('text/event-stream');
    await s.ended;
  });

  it('gives no CORS headers to an origin not in the list', async () => {
    const p = await preflight(app, '/v1/jobs', 'https://evil.example.net', 'POST', 'authorization,content-type');
    expect(p.headers.get('access-control-allow-origin')).toBeNull();
    const r = await fetch(`${app.url}/v1/jobs`, {
      headers: { Origin: 'https://evil.example.net', Authorization: `Bearer ${KEY}` },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS_ORIGINS=*', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ CORS_ORIGINS: '*' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('allows any origin with a wildcard on preflights and simple requests', async () => {
    const p = await preflight(app, '/v1/jobs', 'https://anywhere.example.org', 'POST', 'content-type');
    expect(p.status).toBe(204);
    expect(p.headers.get('access-control-allow-origin')).toBe('*');
    const r = await fetch(`${app.url}/v1/jobs`, { headers: { Origin: 'https://anywhere.example.org' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('CORS_ORIGINS unset', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({});
  });
  afterAll(async () => {
    await app?.close();
  });

  it('sends no CORS headers at all', async () => {
    const r = await fetch(`${app.url}/v1/jobs`, { headers: { Origin: APP_ORIGIN } });
    expect(r.status).toBe(200);
    for (const h of ['access-control-allow-origin', 'access-control-expose-headers'])
      expect(r.headers.get(h)).toBeNull();
    const p = await preflight(app, '/v1/jobs', APP_ORIGIN, 'POST', 'content-type');
    expect(p.headers.get('access-control-allow-origin')).toBeNull();
    expect(p.headers.get('access-control-allow-methods')).toBeNull();
  });
});
