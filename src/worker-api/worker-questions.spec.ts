import { describe, expect, it } from '@jest/globals';
import { START, newJobId } from '@jobstream/contracts';
import { MemoryEventLog } from '@jobstream/event-log';
import { MemoryJobQueue } from '@jobstream/job-queue';
import { MemoryJobStore, type JobRecord, type JobStore } from '@jobstream/job-store';
import { askQuestion, type QuestionDeps } from './worker-questions.js';

async function setup(wrap: (store: JobStore) => JobStore = (s) => s) {
  const log = new MemoryEventLog({ retentionMs: 60_000 });
  const raw = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
  const queue = new MemoryJobQueue();
  const now = new Date().toISOString();
  const job: JobRecord = {
    id: newJobId(),
    tenant: 't',
    agent: 'py',
    input: {},
    metadata: null,
    status: 'running',
    created_at: now,
    updated_at: now,
    started_at: now,
    finished_at: null,
    attempt: 1,
    usage: { input_tokens: 0, output_tokens: 0 },
    error: null,
    cancel_reason: null,
    heartbeat_at: now,
  };
  await raw.create(job);
  await log.append(job.id, { event: { type: 'status', status: 'running' }, attempt: 1 });
  const store = wrap(raw);
  const deps: QuestionDeps = { store, log, queue, inputTimeoutMs: 60_000 };
  const types = async () =>
    (await log.read(job.id, START, 100)).map((e) => e.event.type + ':' + ('status' in e.event ? e.event.status : ''));
  return { log, raw, store, queue, job, deps, types };
}

describe('askQuestion (an HTTP worker’s input_required)', () => {
  it('records, appends and parks: the job waits holding no worker', async () => {
    const { deps, job, raw, types } = await setup();
    const asked = await askQuestion(
      deps,
      job,
      1,
      { type: 'input_required', kind: 'approval', prompt: 'ok?' },
      `${job.id}:b:0`,
    );
    expect(asked.kind).toBe('asked');
    const rec = (await raw.get(job.id))!;
    expect(rec.status).toBe('waiting_for_input');
    expect(rec.input_request).toMatchObject({ kind: 'approval', prompt: 'ok?', attempt: 1, answer: null });
    expect(await types()).toEqual(['status:running', 'input_required:', 'status:waiting_for_input']);
  });

  it('an answer that arrives before the parking sends the job back to the queue, its log tail completed', async () => {
    let answered = false;
    const { deps, job, raw, queue, types } = await setup((store) =>
      Object.create(store, {
        transition: {
          value: async (...args: Parameters<JobStore['transition']>) => {
            if (args[1] === 'waiting_for_input' && !answered) {
              answered = true; // the client answers in the instant between the question and the parking
              const cur = (await store.get(job.id))!;
              await store.transition(job.id, 'running', {
                from: ['running'],
                patch: {
                  input_request: {
                    ...cur.input_request!,
                    answer: { approved: true },
                    answered_at: new Date().toISOString(),
                  },
                },
              });
            }
            return store.transition(...args);
          },
        },
      }),
    );
    const asked = await askQuestion(
      deps,
      job,
      1,
      { type: 'input_required', kind: 'approval', prompt: 'ok?' },
      `${job.id}:b:0`,
    );
    expect(asked.kind).toBe('asked');
    expect((await raw.get(job.id))!.status).toBe('queued');
    expect(await types()).toEqual([
      'status:running',
      'input_required:',
      'status:waiting_for_input',
      'input_received:',
      'status:queued',
    ]);
    const again = await queue.claim(['py']);
    expect(again?.jobId).toBe(job.id);
  });

  it('a bad question is refused (the caller ends the job invalid_input_request); nothing is appended', async () => {
    const { deps, job, types } = await setup();
    const asked = await askQuestion(
      deps,
      job,
      1,
      { type: 'input_required', kind: 'tool_results', prompt: 'run' },
      `${job.id}:b:0`,
    );
    expect(asked).toMatchObject({ kind: 'refused', event: { type: 'error', code: 'invalid_input_request' } });
    expect(await types()).toEqual(['status:running']);
  });

  it('a retry of the request that asked finds its own question (same request id), not a repeat', async () => {
    const { deps, job, raw, types } = await setup();
    const q = { type: 'input_required' as const, kind: 'text' as const, prompt: 'name?' };
    // the first try recorded and appended the question, then its process died before parking
    const first = await askQuestion(
      {
        ...deps,
        store: Object.create(deps.store, {
          transition: {
            value: (...a: Parameters<JobStore['transition']>) =>
              a[1] === 'waiting_for_input' ? Promise.reject(new Error('died')) : deps.store.transition(...a),
          },
        }),
      },
      job,
      1,
      q,
      `${job.id}:b:0`,
    ).catch((e: Error) => e);
    expect(first).toBeInstanceOf(Error);
    const retried = await askQuestion(deps, (await raw.get(job.id))!, 1, q, `${job.id}:b:0`);
    expect(retried.kind).toBe('asked');
    expect(await types()).toEqual(['status:running', 'input_required:', 'status:waiting_for_input']);
  });
});
