import { describe, expect, it } from '@jest/globals';
import { agentEventSchema } from '@jobstream/contracts';
import {
  eventLogFullError,
  historyExpiredError,
  invalidInputRequestError,
  tooManyEventsError,
  workerLostError,
} from './platform-errors.js';

const usage = { input_tokens: 2, output_tokens: 7 };

describe('platform error endings', () => {
  it('word each ending once: code, message and retryable', () => {
    expect(eventLogFullError(usage)).toEqual({
      type: 'error',
      code: 'event_log_full',
      message:
        'the event log is full (JETSTREAM_MAX_BYTES, or the embedded EMBEDDED_MAX_EVENTS / EMBEDDED_MAX_BYTES); retry later',
      retryable: true,
      usage,
    });
    expect(tooManyEventsError(50, usage)).toMatchObject({
      code: 'too_many_events',
      message: 'the job reached the limit of 50 events (MAX_EVENTS_PER_JOB)',
      retryable: false,
    });
    expect(workerLostError(3, usage)).toMatchObject({
      code: 'worker_lost',
      message: 'the worker running this job was lost 3 time(s); no attempts left',
      retryable: false,
    });
    expect(historyExpiredError(usage)).toMatchObject({ code: 'history_expired', retryable: false });
    expect(invalidInputRequestError('bad', usage)).toMatchObject({
      code: 'invalid_input_request',
      message: 'bad',
      retryable: false,
    });
  });

  it('are valid terminal events carrying a copy of the usage (the caller may go on counting)', () => {
    for (const e of [
      eventLogFullError(usage),
      tooManyEventsError(1, usage),
      workerLostError(1, usage),
      historyExpiredError(usage),
      invalidInputRequestError('x', usage),
    ]) {
      expect(agentEventSchema.safeParse(e).success).toBe(true);
      expect(e.usage).toEqual(usage);
      expect(e.usage).not.toBe(usage);
    }
  });
});
