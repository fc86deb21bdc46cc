/**
 * `POST /v1/jobs/:id/input` decides from the job record, never by reading the job's log: a wrong `request_id` on a
 * long job is one record read (it used to scan every event), and a repeat of an earlier answer is checked against
 * the answers remembered on the record.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EventLog } from '@jobstream/event-log';
import { EVENT_LOG } from '../src/engine/engine.constants.js';
import { startTestApp, type TestApp } from './support/app.js';
import { waitFor } from './support/wait.js';

describe('answers are looked up on the record', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ RATE_LIMIT_CREATE_PER_MIN: '0' });
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Records the jobs whose log is read while `fn` runs. */
  const logReads = async (fn: () => Promise<void>): Promise<string[]> => {
    const log = app.app.get<EventLog>(EVENT_LOG);
    const read = log.read.bind(log);
    const jobs: string[] = [];
    log.read = (jobId, ...rest) => {
      jobs.push(jobId);
      return read(jobId, ...rest);
    };
    try {
      await fn();
    } finally {
      log.read = read;
    }
    return jobs;
  };

  const waiting = async (id: string) => {
    let job: { status: string; pending_input: { request_id: string } | null } | null = null;
    await waitFor(
      async () => {
        job = (await app.api(`/v1/jobs/${id}`)).body;
        return job!.status === 'waiting_for_input';
      },
      { timeoutMs: 20_000, message: 'the job to wait for input' },
    );
    return job!.pending_input!.request_id;
  };

  it('answers a wrong request_id of a long job with 409 not_waiting without reading its log', async () => {
    const created = await app.api('/v1/jobs', {
      body: { agent: 'echo', input: { message: 'w '.repeat(5000), ask: { after: 5000 } } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const rid = await waiting(id);
    const reads = await logReads(async () => {
      const r = await app.api(`/v1/jobs/${id}/input`, {
        body: { request_id: 'req_01JZZZZZZZZZZZZZZZZZZZZZZZ', input: { approved: true } },
      });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('not_waiting');
    });
    expect(reads.filter((job) => job === id)).toEqual([]);
    expect(
      (await app.api(`/v1/jobs/${id}/input`, { body: { request_id: rid, input: { approved: true } } })).status,
    ).toBe(202);
  });

  it('checks a repeat of an earlier answer against the record: same ⇒ 200, different ⇒ already_answered', async () => {
    const created = await app.api('/v1/jobs', {
      body: { agent: 'echo', input: { message: 'one two three', client_tool: { name: 'lookup' }, ask: { after: 1 } } },
    });
    const id = created.body.id as string;
    const first = await waiting(id);
    const job = (await app.api(`/v1/jobs/${id}`)).body as {
      pending_input: { tool_calls: { call_id: string }[] };
    };
    const answer = { results: [{ call_id: job.pending_input.tool_calls[0]!.call_id, result: 42 }] };
    expect((await app.api(`/v1/jobs/${id}/input`, { body: { request_id: first, input: answer } })).status).toBe(202);
    await waitFor(async () => (await waiting(id)) !== first, { timeoutMs: 20_000, message: 'the second question' });
    const reads = await logReads(async () => {
      expect((await app.api(`/v1/jobs/${id}/input`, { body: { request_id: first, input: answer } })).status).toBe(200);
      const other = await app.api(`/v1/jobs/${id}/input`, {
        body: { request_id: first, input: { results: [{ call_id: answer.results[0]!.call_id, result: 7 }] } },
      });
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('already_answered');
    });
    expect(reads.filter((job) => job === id)).toEqual([]);
  });
});
