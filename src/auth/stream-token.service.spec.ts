import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { ApiError } from '../common/api-error.js';
import { loadConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import type { Clock } from './auth.constants.js';
import { StreamTokenService } from './stream-token.service.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const JOB = 'job_01ARZ3NDEKTSV4RRFFQ69G5FAV';
const OTHER_JOB = 'job_01ARZ3NDEKTSV4RRFFQ69G5FAW';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

function make(env: Record<string, string> = {}, clock: Clock = { now: () => T0 }): StreamTokenService {
  return new StreamTokenService(
    loadConfig({ STREAM_TOKEN_SECRET: SECRET, API_KEYS: 'acme:acme-key-0001,globex:globex-key-0002', ...env }, hashKey),
    clock,
  );
}

/** The 401 a refused token gets, with its message. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).getStatus()).toBe(401);
    expect((e as ApiError).code).toBe('unauthorized');
    return ((e as ApiError).getResponse() as { error: { message: string } }).error.message;
  }
  throw new Error('expected the token to be refused');
}

describe('StreamTokenService', () => {
  it('issues a token for one job that verifies to its tenant, with the TTL from config', () => {
    const svc = make({ STREAM_TOKEN_TTL_S: '60' });
    const t = svc.issue('acme', JOB);
    expect(t.expires_at).toBe(new Date(T0 + 60_000).toISOString());
    expect(t.stream_url).toBe(`/v1/jobs/${JOB}/stream?access_token=${t.token}`);
    expect(t.token).toMatch(/^st1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(svc.verify(t.token, JOB)).toEqual({ tenant: 'acme', jobId: JOB, exp: (T0 + 60_000) / 1000 });
  });

  it('refuses it after expiry (and at the exact expiry instant), using the injected clock', () => {
    let now = T0;
    const svc = make({ STREAM_TOKEN_TTL_S: '300' }, { now: () => now });
    const { token } = svc.issue('acme', JOB);
    now = T0 + 299_999;
    expect(svc.verify(token, JOB).tenant).toBe('acme');
    now = T0 + 300_000;
    expect(refusal(() => svc.verify(token, JOB))).toMatch(/expired/);
  });

  it('refuses it for another job', () => {
    const svc = make();
    const { token } = svc.issue('acme', JOB);
    expect(refusal(() => svc.verify(token, OTHER_JOB))).toMatch(/another job/);
  });

  it('refuses a token whose last signature character was changed to any other, however it decodes', () => {
    const svc = make();
    const { token } = svc.issue('acme', JOB);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      if (c === token[token.length - 1]) continue;
      // the last base64url character of a 32-byte HMAC carries only 4 bits: lenient decoding maps 4 characters to one
      expect(refusal(() => svc.verify(token.slice(0, -1) + c, JOB))).toBe('invalid stream token');
    }
  });

  it('refuses tampered, truncated, foreign-secret and malformed tokens', () => {
    const svc = make();
    const { token } = svc.issue('acme', JOB);
    const [p, payload, sig] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ v: 1, t: 'globex', j: JOB, exp: T0 / 1000 + 300 })).toString(
      'base64url',
    );
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const bad: unknown[] = [
      `${p}.${forged}.${sig}`, // another tenant's claims under acme's signature
      `${p}.${flip(payload, 3)}.${sig}`,
      `${p}.${payload}.${flip(sig, 5)}`,
      `${p}.${payload}.${sig.slice(0, -2)}`,
      `${p}.${payload}`,
      `st2.${payload}.${sig}`,
      `${token}.extra`,
      make({ STREAM_TOKEN_SECRET: 'another-secret-that-is-long-enough-98765' }).issue('acme', JOB).token,
      '',
      'x'.repeat(5000),
      'st1.%%%.%%%',
      ['an', 'array'],
      undefined,
    ];
    for (const t of bad) {
      expect(refusal(() => svc.verify(t, JOB))).toBe('invalid stream token');
    }
  });

  it('refuses a validly signed payload that is not a token of ours', () => {
    // same secret, but claims missing: only reachable by someone holding the secret; still refused
    const svc = make();
    const { token } = svc.issue('acme', JOB);
    expect(token.split('.')).toHaveLength(3);
    const body = `st1.${Buffer.from(JSON.stringify({ v: 1, t: 'acme', j: JOB })).toString('base64url')}`;
    const sig = createHmac('sha256', SECRET).update(body).digest('base64url');
    expect(refusal(() => svc.verify(`${body}.${sig}`, JOB))).toBe('invalid stream token');
  });

  it('refuses the token of a tenant whose key was removed from API_KEYS', () => {
    const token = make().issue('globex', JOB).token;
    const acmeOnly = make({ API_KEYS: 'acme:acme-key-0001' });
    expect(refusal(() => acmeOnly.verify(token, JOB))).toBe('invalid stream token');
    expect(make().verify(token, JOB).tenant).toBe('globex');
  });

  it('works with auth off (tenant "default") and still checks signatures', () => {
    const svc = make({ API_KEYS: '' });
    const { token } = svc.issue('default', JOB);
    expect(svc.verify(token, JOB).tenant).toBe('default');
    expect(refusal(() => svc.verify(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), JOB))).toBe(
      'invalid stream token',
    );
  });

  it('without STREAM_TOKEN_SECRET signs with a random per-process secret and warns once', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const env = { STREAM_TOKEN_SECRET: '' };
      const a = make(env);
      const b = make(env);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[0]![0])).toMatch(/STREAM_TOKEN_SECRET is unset.*only on this instance/);
      const { token } = a.issue('acme', JOB);
      expect(a.verify(token, JOB).tenant).toBe('acme');
      expect(refusal(() => b.verify(token, JOB))).toBe('invalid stream token');
      warn.mockClear();
      make();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});
