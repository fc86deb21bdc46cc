import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSecretParam, jobIdOfPath, redactDeep, redactText, redactUrl, requestIdOf } from './logging.js';

const reqWith = (id?: string) =>
  ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as unknown as IncomingMessage;
const res = () => {
  const headers: Record<string, string> = {};
  return {
    headers,
    setHeader: (k: string, v: string) => (headers[k.toLowerCase()] = v),
  } as unknown as ServerResponse & { headers: Record<string, string> };
};

describe('logging helpers', () => {
  it('redacts token-like query parameters and keeps the rest of the URL', () => {
    expect(redactUrl('/v1/jobs/j/stream?access_token=abc.def&after=5-5-x')).toBe(
      '/v1/jobs/j/stream?access_token=[redacted]&after=5-5-x',
    );
    expect(redactUrl('/x?after=1&ACCESS_TOKEN=abc')).toBe('/x?after=1&ACCESS_TOKEN=[redacted]');
    expect(redactUrl('/x?api_key=k&token=t&key=z')).toBe('/x?api_key=[redacted]&token=[redacted]&key=[redacted]');
    expect(redactUrl('/v1/jobs/j?share_token=sh1_secret&x=1')).toBe('/v1/jobs/j?share_token=[redacted]&x=1');
    expect(redactUrl('/x?monkey=banana')).toBe('/x?monkey=banana');
    expect(redactUrl(undefined)).toBeUndefined();
    // in a message the URL ends at whitespace: the status after it stays, the token does not
    expect(redactUrl('GET /v1/jobs/j/stream?access_token=st1.abcdefghij.sig 401')).toBe(
      'GET /v1/jobs/j/stream?access_token=[redacted] 401',
    );
    expect(redactUrl('GET /x?token=abc def&token=ghi 200')).toBe('GET /x?token=[redacted] def&token=[redacted] 200');
  });

  it('redacts token-like parameters in every shape the query parser accepts', () => {
    const t = 'st1.eyJ2IjoxfQ.c2lnbmF0dXJl';
    const shapes = [
      `access_token=${t}`,
      `access_token=a&access_token=${t}`,
      `access_token[]=${t}`,
      `access_token%5B%5D=${t}`,
      `access_token[x]=${t}`,
      `access_token[__proto__]=${t}`,
      `%61%63%63%65%73%73%5F%74%6F%6B%65%6E=${t}`,
      `Access_Token=${t}`,
      `share_token=${t}`,
      `share_token[0]=${t}`,
      `webhook_secret=${t}`,
      `x-api-key=${t}`,
      `sessionToken=${t}`,
      `after=1#access_token=${t}`,
      `a=1&&token=${t}&`,
      `q=${t}`, // a stream token under any name: by its shape
    ];
    for (const q of shapes) {
      const out = redactUrl(`/v1/jobs/x/stream?${q}`)!;
      expect(out).not.toContain('c2lnbmF0dXJl');
      expect(out).toContain('[redacted]');
    }
    expect(redactUrl('/x?after=5-5-abcdef&limit=10&monkey=banana&max_tokens=5')).toBe(
      '/x?after=5-5-abcdef&limit=10&monkey=banana&max_tokens=5',
    );
  });

  it('redacts secret-looking values in any text and any log field', () => {
    expect(redactText('calling with Bearer sk-live-123 now')).toBe('calling with Bearer [redacted] now');
    expect(redactText('token st1.abcdefghij.klmnop here')).toBe('token [redacted] here');
    expect(isSecretParam('API_KEY[0]')).toBe(true);
    expect(isSecretParam('idempotency_key')).toBe(false);
    expect(isSecretParam('input_tokens')).toBe(false);
    const out = redactDeep({
      msg: 'x',
      nested: { url: '/a?token=abc', list: ['Bearer abc'] },
      api_key: 'k',
      n: 1,
      ['__proto__']: 'p',
    }) as any;
    expect(out).toMatchObject({
      msg: 'x',
      nested: { url: '/a?token=[redacted]', list: ['Bearer [redacted]'] },
      api_key: '[redacted]',
      n: 1,
    });
    // a "__proto__" field stays a plain field: copying never changes the copy's prototype
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe('p');
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
