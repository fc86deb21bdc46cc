import { describe, expect, it } from '@jest/globals';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { firstValueFrom } from 'rxjs';
import { QuotaExceededError } from '@jobstream/contracts';
import { JobStoreUnavailableError } from '@jobstream/job-store';
import { ApiError } from './api-error.js';
import { NatsErrorFilter } from './nats-error.filter.js';

const reply = (err: unknown) => firstValueFrom(new NatsErrorFilter().catch(err, new ExecutionContextHost([])));

describe('NatsErrorFilter', () => {
  it('replies with the contract error body and the REST codes', async () => {
    expect(await reply(ApiError.notFound())).toEqual({ error: { code: 'not_found', message: 'job not found' } });
    expect(await reply(new ApiError(401, 'unauthorized', 'invalid API key'))).toEqual({
      error: { code: 'unauthorized', message: 'invalid API key' },
    });
    expect(await reply(new BadRequestException('bad field'))).toEqual({
      error: { code: 'invalid_request', message: 'bad field' },
    });
    expect(await reply(new NotFoundException())).toMatchObject({ error: { code: 'not_found' } });
    expect(await reply(new QuotaExceededError('active_jobs', 3))).toMatchObject({
      error: { code: 'quota_exceeded' },
    });
  });

  it('answers an outage with service_unavailable and a bug with internal_error, never its details', async () => {
    expect(await reply(new JobStoreUnavailableError('redis down'))).toMatchObject({
      error: { code: 'service_unavailable' },
    });
    expect(await reply(new Error('secret stack detail'))).toEqual({
      error: { code: 'internal_error', message: 'internal error' },
    });
  });
});
