/** The SDK's conversation and job-management methods against the real app (embedded engine). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JobstreamError, createClient, streamJobUntilComplete, type JobstreamClient } from '@jobstream/sdk';
import { startTestApp, type TestApp } from './support/app.js';

let app: TestApp;
let client: JobstreamClient;
beforeAll(async () => {
  app = await startTestApp({ API_KEYS: 'acme:acme-key-0001' });
  client = createClient({ baseUrl: app.url, apiKey: 'acme-key-0001' });
});
afterAll(async () => {
  await app?.close();
});

describe('SDK: client.threads and job management', () => {
  it('runs a three-turn conversation where the second turn interrupts the first', async () => {
    const thread = await client.threads.create({ agent: 'echo' });
    const first = await client.threads.send(thread.id, { message: 'a long answer ', repeat: 100, delay_ms: 30 });
    const firstDone = streamJobUntilComplete(first.id, { client });
    await expect(client.threads.send(thread.id, { message: 'no' })).rejects.toMatchObject({
      status: 409,
      code: 'thread_busy',
    });
    const second = await client.threads.send(thread.id, { message: 'just say hi' }, { ifBusy: 'interrupt' });
    const r1 = await firstDone;
    expect(r1.terminal).toMatchObject({ type: 'cancelled', reason: 'interrupted' });
    const third = await client.threads.send(
      thread.id,
      { message: 'thanks' },
      { ifBusy: 'enqueue', metadata: { n: 3 } },
    );
    const r3 = await streamJobUntilComplete(third.id, { client });
    expect(r3.terminal).toMatchObject({ type: 'done', output: { text: 'thanks', turn: 3 } });
    expect((await client.jobs.wait(second.id)).status).toBe('completed');
    const turns = await client.threads.turns(thread.id);
    expect(turns.items.map((j) => [j.turn, j.status])).toEqual([
      [1, 'cancelled'],
      [2, 'completed'],
      [3, 'completed'],
    ]);
    expect((await client.threads.list({ limit: 1 })).items[0]!.id).toBe(thread.id);
    expect(await client.threads.get(thread.id)).toMatchObject({ status: 'idle', turns: 3 });
    await client.threads.delete(thread.id);
    await expect(client.threads.get(thread.id)).rejects.toBeInstanceOf(JobstreamError);
  });

  it('reruns, batches, shares and deletes jobs', async () => {
    const job = await client.jobs.create({ agent: 'echo', input: { message: 'x' } });
    await client.jobs.wait(job.id);
    const again = await client.jobs.rerun(job.id);
    expect(again.rerun_of).toBe(job.id);
    const batch = await client.jobs.batch([
      { agent: 'echo', input: { message: 'b' } },
      { agent: 'nope', input: {} },
    ]);
    expect('job' in batch.items[0]! && batch.items[0].job.agent).toBe('echo');
    expect('error' in batch.items[1]! && batch.items[1].error.code).toBe('unknown_agent');
    const share = await client.jobs.share(job.id, { expiresInS: 60 });
    expect((await fetch(app.url + share.job_url)).status).toBe(200);
    expect((await client.jobs.listShares(job.id)).map((s) => s.id)).toEqual([share.id]);
    await client.jobs.revokeShare(job.id, share.id);
    expect((await fetch(app.url + share.job_url)).status).toBe(401);
    await client.jobs.delete(job.id);
    await expect(client.jobs.get(job.id)).rejects.toMatchObject({ status: 404 });
  });
});
