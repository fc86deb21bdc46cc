import { describe, expect, it } from '@jest/globals';
import {
  errorObjectOf,
  httpFailure,
  sanitizeMessage,
  streamErrorFailure,
  unreachableFailure,
} from './provider-errors.js';

describe('provider error classification', () => {
  it('reads OpenAI error objects, string errors, and nothing else', () => {
    expect(errorObjectOf({ error: { message: 'm', type: 't', code: 'c', param: null } })).toEqual({
      message: 'm',
      type: 't',
      code: 'c',
    });
    expect(errorObjectOf({ error: 'plain' })).toEqual({ message: 'plain' });
    expect(errorObjectOf({ choices: [] })).toBeUndefined();
    expect(errorObjectOf(null)).toBeUndefined();
  });

  it('classifies mid-stream errors by type, code, or a numeric HTTP-like code', () => {
    expect(streamErrorFailure({ message: 'x', type: 'overloaded_error' }).retryable).toBe(true);
    expect(streamErrorFailure({ message: 'x', code: 502 }).retryable).toBe(true);
    expect(streamErrorFailure({ message: 'x', code: 429 }).retryable).toBe(true);
    expect(streamErrorFailure({ message: 'x', code: 400 }).retryable).toBe(false);
    expect(streamErrorFailure({ message: 'x', type: 'tokens', code: 'insufficient_quota' }).retryable).toBe(false);
    expect(streamErrorFailure({ message: 'x' })).toEqual({
      code: 'provider_error',
      message: 'provider failed mid-stream: x',
      retryable: false,
    });
  });

  it('puts status, provider message and type/code in HTTP failure messages', () => {
    const f = httpFailure(
      404,
      JSON.stringify({
        error: { message: 'The model `nope` does not exist', type: 'invalid_request_error', code: 'model_not_found' },
      }),
    );
    expect(f).toEqual({
      code: 'provider_http_404',
      message: 'provider answered HTTP 404: The model `nope` does not exist [invalid_request_error/model_not_found]',
      retryable: false,
    });
    expect(httpFailure(504, '').retryable).toBe(true);
    expect(httpFailure(408, '').retryable).toBe(true);
  });

  it('names the cause of a network failure', () => {
    const err = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(unreachableFailure(err, '127.0.0.1:9')).toEqual({
      code: 'provider_unreachable',
      message: 'could not reach the provider at 127.0.0.1:9: ECONNREFUSED',
      retryable: true,
    });
  });

  it('redacts the secret everywhere and caps the length', () => {
    expect(sanitizeMessage('key sk-abcd and again sk-abcd', 'sk-abcd')).toBe('key [redacted] and again [redacted]');
    expect(sanitizeMessage('x'.repeat(5000), undefined)).toHaveLength(1001);
  });
});
