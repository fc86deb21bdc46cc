import { describe, expect, it } from '@jest/globals';
import { START, newJobId, type JobEvent } from '@jobstream/contracts';
import { MemoryEventLog } from '@jobstream/event-log';
import { dispatchJob } from '@jobstream/job-domain';
import { MemoryAgentCatalog, MemoryJobControl, MemoryJobQueue } from '@jobstream/job-queue';
import { MemoryJobStore, newJobRecord } from '@jobstream/job-store';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { abortableDelay, createWorker, defineAgent } from './index.js';

const words = defineAgent<{ message: string; delay_ms?: number }>({
  name: 'words',
  description: 'one token per word',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
  async *run(ctx) {
    for (const w of ctx.input.message.split(' ')) {
      await abortableDelay(ctx.input.delay_ms ?? 0, ctx.signal).catch(() => {});
      if (ctx.signal.aborted) return;
      yield { type: 'token', text: `${w} ` };
      ctx.usage.output_tokens++;
    }
    yield { type: 'done', usage: { ...ctx.usage }, output: { text: ctx.input.message } };
  },
});

function ports() {
  return {
    store: new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 }),
    log: new MemoryEventLog({ retentionMs: 60_000 }),
    queue: new MemoryJobQueue(),
    control: new MemoryJobControl(),
    catalog: new MemoryAgentCatalog(),
  };
}

async function createJob(p: ReturnType<typeof ports>, input: Record<string, unknown>) {
  const job = newJobRecord({ id: newJobId(), tenant: 't', agent: 'words', input, metadata: null });
  await p.store.create(job);
  await dispatchJob(p, job, true);
  return job.id;
}

const typesOf = async (p: ReturnType<typeof ports>, id: string) =>
  (await p.log.read(id, START, 100)).map((e: { event: JobEvent }) => e.event.type);

describe('defineAgent', () => {
  it('refuses a name that cannot name a dispatch subject, and a definition without run', () => {
    expect(() => defineAgent({ name: 'has.dot', run: words.run })).toThrow(/name must be 1-64 letters/);
    expect(() => defineAgent({ name: 'ok', run: undefined as never })).toThrow(/needs a run function/);
  });

  it('keeps what the catalogue shows', () => {
    expect(words).toMatchObject({ name: 'words', description: 'one token per word', inputSchema: { type: 'object' } });
  });
});

describe('createWorker', () => {
  it('says what is missing', () => {
    expect(() => createWorker({ agents: [] })).toThrow(/at least one agent/);
    expect(() => createWorker({ agents: [words] })).toThrow(/natsUrl` and `redisUrl` are required/);
    expect(() => createWorker({ agents: [words, words], ports: ports() })).toThrow(/given twice/);
    expect(() => createWorker({ agents: [words], ports: ports(), concurrency: 0 })).toThrow(/concurrency/);
  });

  it('announces its agents, runs their jobs, routes cancels, and withdraws on stop', async () => {
    const p = ports();
    const worker = createWorker({ agents: [words], ports: p, platform: { stallTimeoutMs: 3_000 } });
    expect(worker.agents).toEqual(['words']);
    await worker.start();
    expect(await p.catalog.get('words')).toMatchObject({ workers: 1, description: 'one token per word' });

    const done = await createJob(p, { message: 'a b c' });
    await waitFor(async () => (await p.store.get(done))?.status === 'completed');
    expect(await typesOf(p, done)).toEqual(['status', 'status', 'token', 'token', 'token', 'done']);

    const slow = await createJob(p, { message: 'a b c d e f g h', delay_ms: 100 });
    await waitFor(() => worker.runningJobs().includes(slow));
    await p.control.requestCancel(slow, 'stop');
    await waitFor(async () => (await p.store.get(slow))?.status === 'cancelled');

    await worker.stop();
    expect(await p.catalog.get('words')).toMatchObject({ workers: 0 });
  });

  it('hands a running job back to the queue when stopped past its grace period', async () => {
    const p = ports();
    const worker = createWorker({ agents: [words], ports: p, shutdownGraceMs: 50 });
    await worker.start();
    const id = await createJob(p, { message: 'a b c d e f g h i j', delay_ms: 200 });
    await waitFor(() => worker.runningJobs().includes(id));
    await worker.stop();
    expect(await p.store.get(id)).toMatchObject({ status: 'queued', attempt: 2 });
    expect((await typesOf(p, id)).slice(-2)).toEqual(['attempt', 'status']);
  });
});
