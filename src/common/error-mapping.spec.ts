import { describe, expect, it } from '@jest/globals';
import { RequestError } from '@nats-io/transport-node';
import { NoRespondersError, TimeoutError, toJsApiError } from '@jobstream/nats';
import { NotFoundException } from '@nestjs/common';
import { z } from 'zod';
import { InvalidCursorError } from '@jobstream/contracts';
import { EventLogFullError, EventLogUnavailableError } from '@jobstream/event-log';
import { QueueUnavailableError } from '@jobstream/job-queue';
import { IdempotencyConflictError, JobStoreUnavailableError } from '@jobstream/job-store';
import { ReplyError } from '@jobstream/redis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { ClosedConnectionError, ConnectionError } from '@nats-io/transport-node';
import { JetStreamError } from '@nats-io/jetstream';
import { ApiError } from './api-error.js';
import { mapError } from './error-mapping.js';

describe('mapError', () => {
  it('maps contract errors to their status and code', () => {
    expect(mapError(new ApiError(410, 'cursor_expired', 'gone'))).toMatchObject({
      status: 410,
      body: { error: { code: 'cursor_expired', message: 'gone' } },
    });
    expect(mapError(new InvalidCursorError('foreign', 'x'))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_cursor' } },
    });
    expect(mapError(new IdempotencyConflictError('k'))).toMatchObject({ status: 409 });
    expect(mapError(new EventLogUnavailableError('down'))).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '2' },
    });
    expect(mapError(new EventLogFullError('full'))).toMatchObject({
      status: 503,
      body: { error: { code: 'service_unavailable' } },
      headers: { 'Retry-After': '5' },
    });
    expect(mapError(new NotFoundException('Cannot GET /x'))).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
  });

  it('maps body-parser failures to 413 and 400', () => {
    expect(mapError(Object.assign(new Error('too big'), { status: 413, type: 'entity.too.large' }))).toMatchObject({
      status: 413,
      body: { error: { code: 'payload_too_large' } },
    });
    expect(
      mapError(Object.assign(new SyntaxError('Unexpected token'), { status: 400, type: 'entity.parse.failed' })),
    ).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', message: 'malformed JSON body' } } });
  });

  it('names the bad fields of a zod error', () => {
    const r = z.object({ a: z.number() }).safeParse({ a: 'x' });
    expect(mapError(r.error)).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('a:') } },
    });
  });

  it('maps every broker or store failure to 503 with Retry-After, whatever layer let it through', () => {
    const nats503 = new NoRespondersError('jobstream.events.j');
    const natsTimeout = new RequestError('request timed out', { cause: new TimeoutError() });
    const jsApi = toJsApiError({ code: 503, err_code: 10008, description: 'JetStream cluster not available' });
    const readonly = new ReplyError("READONLY You can't write against a read only replica.");
    const retries = new MaxRetriesPerRequestError(3);
    const closed = new Error('Connection is closed.');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    const wrapped = new Error('dispatch failed', { cause: nats503 });
    const offline = new Error("Stream isn't writeable and enableOfflineQueue options is false");
    for (const err of [
      nats503,
      natsTimeout,
      jsApi,
      readonly,
      retries,
      refused,
      wrapped,
      offline,
      closed,
      new Error('read failed', { cause: new ClosedConnectionError() }),
      new ConnectionError('connection refused'),
      new JetStreamError('no leader'),
      new Error('append failed', { cause: new ReplyError('CLUSTERDOWN The cluster is down') }),
      new QueueUnavailableError('x'),
      new JobStoreUnavailableError('x'),
    ]) {
      expect(mapError(err)).toMatchObject({
        status: 503,
        unexpected: false,
        headers: { 'Retry-After': '2' },
        body: { error: { code: 'service_unavailable' } },
      });
    }
    // a Redis reply that is the request's own fault stays unexpected
    expect(mapError(new ReplyError('ERR wrong number of arguments')).status).toBe(500);
    // an error that only mentions an outage in its message is still a bug
    expect(mapError(new Error('READONLY Connection is closed')).status).toBe(500);
    expect(mapError(new TypeError("Cannot read properties of undefined (reading 'id')")).status).toBe(500);
  });

  it('hides the details of an unexpected error', () => {
    const m = mapError(new Error('secret detail at /srv/app.js:12'));
    expect(m).toMatchObject({
      status: 500,
      unexpected: true,
      body: { error: { code: 'internal_error', message: 'internal error' } },
    });
  });
});
