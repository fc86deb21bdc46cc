import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jobIdOfPath, redactUrl, requestIdOf } from './logging.js';

const reqWith = (id?: string) => ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as unknown as IncomingMessage;
const res = () => {
  const headers: Record<string, string> = {};
  return { headers, setHeader: (k: string, v: string) => (headers[k.toLowerCase()] = v) } as unknown as ServerResponse & { headers: Record<string, string> };
};

describe('logging helpers', () => {
  it('redacts token-like query parameters and keeps the rest of the URL', () => {
    expect(redactUrl('/v1/jobs/j/stream?access_token=abc.def&after=5-5-x')).toBe('/v1/jobs/j/stream?access_token=[redacted]&after=5-5-x');
    expect(redactUrl('/x?after=1&ACCESS_TOKEN=abc')).toBe('/x?after=1&ACCESS_TOKEN=[redacted]');
    expect(redactUrl('/x?api_key=k&token=t&key=z')).toBe('/x?api_key=[redacted]&token=[redacted]&key=[redacted]');
    expect(redactUrl('/v1/jobs/j?share_token=sh1_secret&x=1')).toBe('/v1/jobs/j?share_token=[redacted]&x=1');
    expect(redactUrl('/x?monkey=banana')).toBe('/x?monkey=banana');
    expect(redactUrl(undefined)).toBeUndefined();
  });

  it('keeps a sane X-Request-Id, generates one otherwise, and echoes it in the response', () => {
    const r1 = res();
    expect(requestIdOf(reqWith('abc-123_x.y:z'), r1)).toBe('abc-123_x.y:z');
    expect(r1.headers['x-request-id']).toBe('abc-123_x.y:z');
    for (const bad of [undefined, '', 'has space', 'x'.repeat(129), 'new\nline', 'ünïcode']) {
      const r = res();
      const id = requestIdOf(reqWith(bad), r);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(r.headers['x-request-id']).toBe(id);
    }
  });

  it('finds the job id in job paths only', () => {
    const id = 'job_01M7YB9X1C12J09KEJ6W2SKTZG';
    expect(jobIdOfPath(`/v1/jobs/${id}`)).toBe(id);
    expect(jobIdOfPath(`/v1/jobs/${id}/stream?after=1`)).toBe(id);
    expect(jobIdOfPath('/v1/jobs')).toBeUndefined();
    expect(jobIdOfPath('/v1/jobs/not-a-job-id/stream')).toBeUndefined();
    expect(jobIdOfPath('/health/live')).toBeUndefined();
  });
});
