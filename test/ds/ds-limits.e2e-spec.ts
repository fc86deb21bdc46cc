/**
 * Durable Streams per tenant: names are per tenant (another tenant's stream is a 404, even with the same name),
 * the stream quota (DS_MAX_STREAMS) and the create rate (DS_CREATES_PER_MIN) are per tenant, bodies are capped
 * (DS_MAX_BODY_BYTES ⇒ 413), and refusals are the contract's JSON errors.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';

const A = 'ds-limits-key-aaaa';
const B = 'ds-limits-key-bbbb';

describe('Durable Streams limits and tenants', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      API_KEYS: `acme:${A},globex:${B}`,
      DS_MAX_STREAMS: '3',
      DS_CREATES_PER_MIN: '5',
      DS_MAX_BODY_BYTES: '2048',
      DS_LONG_POLL_MS: '2000',
      MAX_STREAMS_PER_TENANT: '2',
    });
  });
  afterAll(async () => {
    await app.close();
  });

  const ds = (key: string, name: string, init: RequestInit = {}) =>
    fetch(`${app.url}/ds/v1/stream/${name}`, {
      ...init,
      headers: { Authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) },
    });
  const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error;

  it('keeps names per tenant: another tenant cannot see, read, write or delete a stream', async () => {
    expect(
      (await ds(A, 'shared-name', { method: 'PUT', body: 'secret', headers: { 'Content-Type': 'text/plain' } })).status,
    ).toBe(201);
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) {
      const r = await ds(B, 'shared-name', {
        method,
        ...(method === 'POST' ? { body: 'x', headers: { 'Content-Type': 'text/plain' } } : {}),
      });
      expect([method, r.status]).toEqual([method, 404]);
    }
    // B's own stream of the same name is another stream
    expect(
      (await ds(B, 'shared-name', { method: 'PUT', headers: { 'Content-Type': 'application/json' } })).status,
    ).toBe(201);
    const own = await ds(A, 'shared-name');
    expect([own.status, await own.text()]).toEqual([200, 'secret']);
    expect((await ds(B, 'shared-name')).headers.get('content-type')).toBe('application/json');
    // a fork cannot reach into another tenant either
    const fork = await ds(B, 'fork-of-a', { method: 'PUT', headers: { 'Stream-Forked-From': '/v1/stream/a-only' } });
    expect(fork.status).toBe(404);
    expect((await fetch(`${app.url}/ds/v1/stream/shared-name`)).status).toBe(401);
  });

  it('refuses a stream beyond DS_MAX_STREAMS (429 quota_exceeded), for that tenant only', async () => {
    // acme holds shared-name already: two more, then the quota
    expect((await ds(A, 'q1', { method: 'PUT' })).status).toBe(201);
    expect((await ds(A, 'q2', { method: 'PUT' })).status).toBe(201);
    const over = await ds(A, 'q3', { method: 'PUT' });
    expect(over.status).toBe(429);
    expect((await errorOf(over)).code).toBe('quota_exceeded');
    // re-creating an existing one is not a new stream; deleting frees a slot
    expect((await ds(A, 'q1', { method: 'PUT' })).status).toBe(200);
    expect((await ds(A, 'q1', { method: 'DELETE' })).status).toBe(204);
    expect((await ds(A, 'q3', { method: 'PUT' })).status).toBe(201);
  });

  it('limits creates per minute per tenant (429 rate_limited with Retry-After)', async () => {
    // acme tried 5 creates above (the one the quota refused counts: the rate is on attempts): refused now —
    // globex (1 used) is not affected
    const statuses: number[] = [];
    for (const n of ['r1', 'r2']) {
      await ds(A, 'q3', { method: 'DELETE' });
      const r = await ds(A, n, { method: 'PUT' });
      statuses.push(r.status);
      if (r.status === 429) {
        expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
        expect((await errorOf(r)).code).toBe('rate_limited');
      }
    }
    expect(statuses).toEqual([429, 429]);
    expect((await ds(B, 'other', { method: 'PUT' })).status).toBe(201);
  });

  it('caps bodies (413) and answers bad input with JSON errors', async () => {
    await ds(B, 'caps', { method: 'PUT', headers: { 'Content-Type': 'text/plain' } });
    const big = await ds(B, 'caps', {
      method: 'POST',
      body: 'x'.repeat(4096),
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(big.status).toBe(413);
    const badOffset = await ds(B, 'caps?offset=../x');
    expect(badOffset.status).toBe(400);
    expect((await errorOf(badOffset)).code).toBe('invalid_offset');
    expect(badOffset.headers.get('x-content-type-options')).toBe('nosniff');
    const badTtl = await ds(B, 'caps2', { method: 'PUT', headers: { 'Stream-TTL': '1e3' } });
    expect(badTtl.status).toBe(400);
    expect((await errorOf(badTtl)).code).toBe('invalid_request');
  });

  it('caps live reads per tenant like SSE streams (MAX_STREAMS_PER_TENANT ⇒ 429), and frees them on close', async () => {
    // two SSE reads of globex's stream `caps` hold its two slots (for up to 3 × DS_LONG_POLL_MS)
    const acs = [new AbortController(), new AbortController()];
    const open = acs.map((ac) => ds(B, 'caps?offset=now&live=sse', { signal: ac.signal }).catch(() => null));
    await waitFor(async () => (await ds(B, 'caps?offset=now&live=long-poll')).status === 429);
    const refused = await ds(B, 'caps?offset=now&live=sse');
    expect(refused.status).toBe(429);
    expect((await errorOf(refused)).code).toBe('too_many_connections');
    // another tenant is not affected
    expect((await ds(A, 'shared-name?offset=now&live=long-poll')).status).toBe(204);
    for (const ac of acs) ac.abort();
    await Promise.all(open);
    await waitFor(async () => (await ds(B, 'caps?offset=now&live=long-poll')).status === 204);
  });
});
