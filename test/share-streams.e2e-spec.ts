/**
 * Streams opened with a share link: they count against the share (SHARE_MAX_STREAMS), not the owner's stream cap,
 * and end when the share is revoked or expires. Embedded engine; two API processes on JetStream + Redis in
 * test/engine/threads-on-nats.int-spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ShareStreams } from '../src/shares/share-streams.js';
import { startTestApp, type TestApp } from './support/app.js';
import { openSse, type SseResponse } from './support/sse-client.js';

const KEY = 'acme-key-0001';
const H = { Authorization: `Bearer ${KEY}` };
/** A job that stays running while the test acts (60 s between tokens): its streams stay open. */
const HELD = { agent: 'echo', input: { message: 'held open', delay_ms: 60_000 } };

describe('share link streams (embedded engine)', () => {
  let app: TestApp;
  const opened: SseResponse[] = [];
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: `acme:${KEY}`, MAX_STREAMS_PER_TENANT: '1', SHARE_MAX_STREAMS: '2' });
  });
  afterAll(async () => {
    for (const s of opened) s.close();
    await app?.close();
  });
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const s = await openSse(app.url + path, { headers });
    opened.push(s);
    return s;
  };
  const held = async () => (await app.api('/v1/jobs', { body: HELD, headers: H })).body.id as string;
  const share = async (jobId: string, body: unknown = {}) =>
    (await app.api(`/v1/jobs/${jobId}/shares`, { body, headers: H })).body;

  it('counts share streams against the share, not the owner: SHARE_MAX_STREAMS per share, 429 beyond', async () => {
    const id = await held();
    const own = await open(`/v1/jobs/${id}/stream`, H);
    expect(own.status).toBe(200); // the owner's one stream (MAX_STREAMS_PER_TENANT=1)
    const s1 = await share(id);
    const s2 = await share(id);
    expect((await open(s1.stream_url)).status).toBe(200);
    expect((await open(s1.stream_url)).status).toBe(200);
    const over = await open(s1.stream_url);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ error: { code: 'too_many_connections' } });
    expect(over.headers.get('retry-after')).not.toBeNull();
    // another share of the same job has its own allowance; the owner's cap is still the owner's
    expect((await open(s2.stream_url)).status).toBe(200);
    expect((await open(`/v1/jobs/${id}/stream`, H)).status).toBe(429);
    await app.api(`/v1/jobs/${id}/cancel`, { body: {}, headers: H });
  });

  it('ends the streams of a revoked share within 5 s of the revoke, and leaves other streams open', async () => {
    const id = await held();
    const kept = await share(id);
    const gone = await share(id);
    const [a, b, other] = [await open(gone.stream_url), await open(gone.stream_url), await open(kept.stream_url)];
    expect([a.status, b.status, other.status]).toEqual([200, 200, 200]);
    const revoked = await app.api(`/v1/jobs/${id}/shares/${gone.id}`, { method: 'DELETE', headers: H });
    expect(revoked.status).toBe(204);
    const t0 = Date.now();
    const within5s = (s: SseResponse) =>
      Promise.race([s.ended, new Promise((r) => setTimeout(() => r('still open'), 5_000).unref())]);
    expect(await Promise.all([within5s(a), within5s(b)])).toEqual(['ended', 'ended']);
    process.stdout.write(`share revoke → its streams ended in ${Date.now() - t0} ms\n`);
    expect((await openSse(app.url + gone.stream_url)).status).toBe(401);
    // the other share's stream goes on
    await app.app.get(ShareStreams).check();
    expect(await Promise.race([other.ended, Promise.resolve('open')])).toBe('open');
    await app.api(`/v1/jobs/${id}/cancel`, { body: {}, headers: H });
  });

  it('ends the streams of an expired share', async () => {
    const id = await held();
    const s = await share(id, { expires_in_s: 60 });
    const stream = await open(s.stream_url);
    expect(stream.status).toBe(200);
    await app.app.get(ShareStreams).check(Date.now() + 61_000); // a check after the expiry
    expect(await stream.ended).toBe('ended');
    await app.api(`/v1/jobs/${id}/cancel`, { body: {}, headers: H });
  });
});
