import { describe, expect, it } from '@jest/globals';
import type { InputRequestRecord, JobRecord } from '@jobstream/job-store';
import { continuedRequest } from './dispatch.js';

const request = (over: Partial<InputRequestRecord> = {}): InputRequestRecord => ({
  request_id: 'r1',
  kind: 'text',
  prompt: 'why?',
  schema: {},
  expires_at: new Date(Date.now() + 60_000).toISOString(),
  attempt: 2,
  answer: { text: 'because' },
  answered_at: new Date().toISOString(),
  ...over,
});
const job = (over: Partial<JobRecord>): JobRecord => ({ status: 'queued', attempt: 2, ...over }) as JobRecord;

describe('continuedRequest (what a start continues with)', () => {
  it('is the answered question of the attempt being started, for a queued job', () => {
    const req = request();
    expect(continuedRequest(job({ input_request: req }), 2)).toBe(req);
  });

  it('is null for an unanswered question, another attempt, a job not queued, or no question', () => {
    expect(continuedRequest(job({ input_request: request({ answer: null }) }), 2)).toBeNull();
    expect(continuedRequest(job({ input_request: request() }), 3)).toBeNull();
    expect(continuedRequest(job({ status: 'running', input_request: request() }), 2)).toBeNull();
    expect(continuedRequest(job({ input_request: null }), 2)).toBeNull();
  });
});
