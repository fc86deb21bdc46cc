import { describe, expect, it } from '@jest/globals';
import { NotFoundException } from '@nestjs/common';
import { z } from 'zod';
import { InvalidCursorError } from '../../libs/contracts/src/index.js';
import { EventLogUnavailableError } from '../../libs/event-log/src/index.js';
import { IdempotencyConflictError } from '../../libs/job-store/src/index.js';
import { ApiError } from './api-error.js';
import { mapError } from './error-mapping.js';

describe('mapError', () => {
  it('maps contract errors to their status and code', () => {
    expect(mapError(new ApiError(410, 'cursor_expired', 'gone'))).toMatchObject({ status: 410, body: { error: { code: 'cursor_expired', message: 'gone' } } });
    expect(mapError(new InvalidCursorError('foreign', 'x'))).toMatchObject({ status: 400, body: { error: { code: 'invalid_cursor' } } });
    expect(mapError(new IdempotencyConflictError('k'))).toMatchObject({ status: 409 });
    expect(mapError(new EventLogUnavailableError('down'))).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });
    expect(mapError(new NotFoundException('Cannot GET /x'))).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('maps body-parser failures to 413 and 400', () => {
    expect(mapError(Object.assign(new Error('too big'), { status: 413, type: 'entity.too.large' }))).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(mapError(Object.assign(new SyntaxError('Unexpected token'), { status: 400, type: 'entity.parse.failed' }))).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', message: 'malformed JSON body' } } });
  });

  it('names the bad fields of a zod error', () => {
    const r = z.object({ a: z.number() }).safeParse({ a: 'x' });
    expect(mapError(r.error)).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('a:') } } });
  });

  it('hides the details of an unexpected error', () => {
    const m = mapError(new Error('secret detail at /srv/app.js:12'));
    expect(m).toMatchObject({ status: 500, unexpected: true, body: { error: { code: 'internal_error', message: 'internal error' } } });
  });
});
