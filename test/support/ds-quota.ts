/**
 * The Durable Streams bytes quota scenario (DS_TENANT_MAX_BYTES = 4096), run on the embedded engine
 * (ds-limits.e2e-spec.ts) and on JetStream + Redis (ds-quota-on-redis.int-spec.ts): tenant A fills its quota,
 * tenant B is not affected, deleting frees room (a forked source: when its last fork goes).
 */
import { expect, it } from '@jest/globals';
import type { TestApp } from './app.js';

export const DS_QUOTA_ENV = { DS_TENANT_MAX_BYTES: '4096' };

export function dsBytesQuotaTests(getApp: () => TestApp, A: string, B: string): void {
  const ds = (key: string, name: string, init: RequestInit = {}) =>
    fetch(`${getApp().url}/ds/v1/stream/${name}`, {
      ...init,
      headers: { Authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) },
    });
  const post = (key: string, name: string, body: string) =>
    ds(key, name, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });

  it('refuses the append that would pass the quota (429 quota_exceeded, nothing appended), for that tenant only', async () => {
    const kb = 'a'.repeat(1024);
    // 1 KiB at create, counted like an append
    expect((await ds(A, 'fill', { method: 'PUT', body: kb, headers: { 'Content-Type': 'text/plain' } })).status).toBe(
      201,
    );
    expect((await post(A, 'fill', kb)).status).toBe(204);
    expect((await ds(A, 'fill2', { method: 'PUT', headers: { 'Content-Type': 'text/plain' } })).status).toBe(201);
    expect((await post(A, 'fill2', kb)).status).toBe(204);
    // 3 KiB held: 1 KiB + 1 byte more is refused, on any of the tenant's streams
    for (const name of ['fill', 'fill2']) {
      const over = await post(A, name, `${kb}b`);
      expect(over.status).toBe(429);
      const err = ((await over.json()) as { error: { code: string; message: string } }).error;
      expect(err.code).toBe('quota_exceeded');
      expect(err.message).toMatch(/DS_TENANT_MAX_BYTES/);
    }
    const before = await ds(A, 'fill');
    expect((await before.text()).length).toBe(2048);
    // exactly up to the quota is fine; then even one byte is refused
    expect((await post(A, 'fill', kb)).status).toBe(204);
    expect((await post(A, 'fill2', 'x')).status).toBe(429);
    // a fork's inherited frames stay counted for their source: forking costs nothing, its own appends do
    expect((await ds(A, 'fork', { method: 'PUT', headers: { 'Stream-Forked-From': '/v1/stream/fill' } })).status).toBe(
      201,
    );
    expect((await post(A, 'fork', 'x')).status).toBe(429);
    // another tenant is not affected
    expect((await ds(B, 'other', { method: 'PUT', headers: { 'Content-Type': 'text/plain' } })).status).toBe(201);
    expect((await post(B, 'other', kb)).status).toBe(204);
    expect((await post(B, 'other', kb)).status).toBe(204);
  });

  it('frees the bytes when a stream is deleted (a forked source: when its last fork goes)', async () => {
    // fill2 (1 KiB) has no forks: deleting it frees 1 KiB at once
    expect((await ds(A, 'fill2', { method: 'DELETE' })).status).toBe(204);
    expect((await post(A, 'fork', 'a'.repeat(1024))).status).toBe(204);
    expect((await post(A, 'fork', 'x')).status).toBe(429);
    // fill (3 KiB) is still read by its fork: deleted, its bytes stay counted until the fork goes too
    expect((await ds(A, 'fill', { method: 'DELETE' })).status).toBe(204);
    expect((await post(A, 'fork', 'x')).status).toBe(429);
    expect((await ds(A, 'fork', { method: 'DELETE' })).status).toBe(204);
    expect((await ds(A, 'fresh', { method: 'PUT', headers: { 'Content-Type': 'text/plain' } })).status).toBe(201);
    expect((await post(A, 'fresh', 'a'.repeat(4096))).status).toBe(204);
  });
}
