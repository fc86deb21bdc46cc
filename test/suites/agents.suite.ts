/** The agent catalogue end to end through the real app: shared by the embedded run and the JetStream + Redis run. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { QueueConsumer, QueuedJob } from '@jobstream/job-queue';
import type { TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';

const ACME = 'acme-key-0001';
const GLOBEX = 'globex-key-0002';
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

export function agentsSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`Agent catalogue (${engine})`, () => {
    let app: TestApp;
    const consumers: QueueConsumer[] = [];
    beforeAll(async () => {
      app = await start({ API_KEYS: `acme:${ACME},globex:${GLOBEX}` });
    });
    afterAll(async () => {
      await Promise.all(consumers.map((c) => c.drain()));
      await app?.close();
    });
    const post = (path: string, body: unknown, key = ACME) => app.api(path, { body, headers: auth(key) });
    const get = (path: string, key = ACME) => app.api(path, { headers: auth(key) });

    it('lists echo, announced by the built-in worker, with its input schema and one live worker', async () => {
      const r = await get('/v1/agents');
      expect(r.status).toBe(200);
      const echo = r.body.items.find((a: { name: string }) => a.name === 'echo');
      expect(echo).toMatchObject({
        name: 'echo',
        description: expect.any(String),
        input_schema: { type: 'object', required: ['message'] },
        workers: 1,
      });
      expect(Object.keys(echo).sort()).toEqual(['description', 'input_schema', 'name', 'workers']);
      expect((await app.api('/v1/agents')).status).toBe(401);
      // the catalogue is the platform's, the same for every tenant, and names no tenant
      expect((await get('/v1/agents', GLOBEX)).body).toEqual(r.body);
    });

    it('refuses a create of an agent never announced (unknown_agent) and bad input with its path', async () => {
      for (const r of [
        await post('/v1/jobs', { agent: 'never-announced', input: {} }),
        await post('/v1/threads', { agent: 'never-announced' }),
        await post('/v1/jobs/batch', { jobs: [{ agent: 'never-announced', input: {} }] }),
      ]) {
        const error = r.status === 200 ? r.body.items[0].error : r.body.error;
        expect(error).toMatchObject({ code: 'unknown_agent', message: expect.stringContaining('never-announced') });
      }
      const bad = await post('/v1/jobs', { agent: 'echo', input: { message: 'x', repeat: 0 } });
      expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
      expect(bad.body.error.message).toMatch(/^input\.repeat: /);
      const extra = await post('/v1/jobs', { agent: 'echo', input: { message: 'x', nope: 1 } });
      expect(extra.body.error).toMatchObject({ code: 'invalid_request', message: 'input.nope: unknown property' });
      const t = await post('/v1/threads', { agent: 'echo' });
      const turn = await post(`/v1/threads/${t.body.id}/jobs`, { input: { message: 7 } });
      expect(turn.body.error).toMatchObject({
        code: 'invalid_request',
        message: expect.stringMatching(/^input\.message/),
      });
    });

    it('queues a job of an announced agent with no live worker (waiting_for_worker), and routes it to its worker only', async () => {
      const catalog = app.engine.agentCatalog;
      const schema = {
        type: 'object',
        properties: { q: { type: 'string' } },
        required: ['q'],
        additionalProperties: false,
      };
      // announced earlier by a worker that has gone
      await catalog.announce(
        'gone-worker',
        [{ name: 'ghost', description: 'a test agent', input_schema: schema }],
        60_000,
      );
      await catalog.withdraw('gone-worker', ['ghost']);
      expect((await post('/v1/jobs', { agent: 'ghost', input: { q: 1 } })).body.error.message).toBe(
        'input.q: must be string',
      );
      const created = await post('/v1/jobs', { agent: 'ghost', input: { q: 'hello' } });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      await waitFor(async () => (await get(`/v1/jobs/${id}`)).body.waiting_for_worker === true, {
        message: 'the job to say it waits for a worker',
      });
      expect((await get(`/v1/jobs/${id}`)).body.status).toBe('queued');
      // a worker of ghost starts: it receives the job (the built-in echo worker never did)
      const got: QueuedJob[] = [];
      consumers.push(
        await app.engine.jobQueue.consume(async (j) => void got.push(j), { concurrency: 1, agents: ['ghost'] }),
      );
      await catalog.announce(
        'ghost-worker',
        [{ name: 'ghost', description: 'a test agent', input_schema: schema }],
        60_000,
      );
      await waitFor(() => got.length === 1, { message: "ghost's job delivered to its worker" });
      expect(got[0]).toMatchObject({ jobId: id, agent: 'ghost', tenant: 'acme' });
      await waitFor(async () => (await get(`/v1/jobs/${id}`)).body.waiting_for_worker === false, {
        message: 'the live worker to be seen',
      });
      expect((await get('/v1/agents')).body.items.find((a: { name: string }) => a.name === 'ghost')).toMatchObject({
        workers: 1,
        input_schema: schema,
      });
      await catalog.withdraw('ghost-worker', ['ghost']);
    });
  });
}
