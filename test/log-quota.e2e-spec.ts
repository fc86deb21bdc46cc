/**
 * The per-tenant log-bytes quota on the embedded engine, through every create path: a tenant's running job ends
 * `quota_exceeded` once its events pass TENANT_LOG_BYTES_QUOTA; then its creates (a job, a batch item, a thread's
 * turn) answer 429 `quota_exceeded` with Retry-After, while another tenant creates and runs as before. Deleting
 * its jobs gives the tenant its room back.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './support/app.js';

const KEY_A = 'key-quota-tenant-a-01';
const KEY_B = 'key-quota-tenant-b-01';
const as = (key: string) => ({ Authorization: `Bearer ${key}` });
const QUOTA = 200_000;

describe('per-tenant log-bytes quota (embedded engine)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      API_KEYS: `ta:${KEY_A},tb:${KEY_B}`,
      TENANT_LOG_BYTES_QUOTA: String(QUOTA),
      RATE_LIMIT_CREATE_PER_MIN: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  const create = (key: string, input: Record<string, unknown>) =>
    app.api('/v1/jobs', { body: { agent: 'echo', input }, headers: as(key) });
  const wait = async (key: string, id: string) =>
    (await app.api(`/v1/jobs/${id}/wait?timeout_s=60`, { headers: as(key) })).body as {
      status: string;
      error: { code: string; message: string } | null;
    };

  it('ends the running job quota_exceeded, then refuses that tenant (429 + Retry-After) on every create path', async () => {
    const big = await create(KEY_B, { message: 'x'.repeat(10_000), repeat: 100 }); // ≈ 1 MB of events
    expect(big.status).toBe(201);
    expect(await wait(KEY_B, big.body.id)).toMatchObject({ status: 'failed', error: { code: 'quota_exceeded' } });

    const job = await create(KEY_B, { message: 'more' });
    expect(job.status).toBe(429);
    expect(job.body.error.code).toBe('quota_exceeded');
    expect(Number(job.headers.get('retry-after'))).toBeGreaterThan(0);
    const batch = await app.api('/v1/jobs/batch', {
      body: { jobs: [{ agent: 'echo', input: { message: 'one' } }] },
      headers: as(KEY_B),
    });
    expect(batch.body.items[0].error.code).toBe('quota_exceeded');
    const thread = await app.api('/v1/threads', { body: { agent: 'echo' }, headers: as(KEY_B) });
    expect(thread.status).toBe(201);
    const turn = await app.api(`/v1/threads/${thread.body.id}/jobs`, {
      body: { input: { message: 'hi' } },
      headers: as(KEY_B),
    });
    expect(turn.status).toBe(429);
    expect(turn.body.error.code).toBe('quota_exceeded');

    // another tenant is not affected
    const other = await create(KEY_A, { message: 'tenant A goes on', repeat: 5 });
    expect(other.status).toBe(201);
    expect((await wait(KEY_A, other.body.id)).status).toBe('completed');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/jobstream_jobs_limited_total\{code="quota_exceeded"\} 1/);
    expect(metrics).toMatch(/jobstream_limit_rejections_total\{limit="log_bytes_quota"\} [1-9]/);

    // deleting its job takes its bytes out of the count: the tenant may create again
    expect((await app.api(`/v1/jobs/${big.body.id}`, { method: 'DELETE', headers: as(KEY_B) })).status).toBe(204);
    expect((await create(KEY_B, { message: 'room again' })).status).toBe(201);
  });
});
