/**
 * The agent catalogue and per-agent dispatch on the NATS engine with real worker processes: two workers serving
 * different agents (each receives only its own agent's jobs), the catalogue read by API processes started while
 * the workers live (a restarted API knows the agents at once), the shared suite on JetStream + Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startNatsTestApp } from '../support/nats-app.js';
import { waitFor } from '../support/wait.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';
import { agentsSuite } from '../suites/agents.suite.js';

agentsSuite('JetStream + Redis', (env) => startNatsTestApp(env));

describe('two worker processes serving different agents', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  let echoWorker: WorkerProcess;
  let openaiWorker: WorkerProcess;
  let api: TestApp | null = null;
  const env = () => ({ NATS_URL: nats.url, REDIS_URL: redis.url });
  const startApi = () => startTestApp({ ...env(), EMBEDDED_WORKER: 'false' });

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    [echoWorker, openaiWorker] = await Promise.all([
      spawnWorker({ ...env(), WORKER_AGENTS: 'echo' }),
      // a provider nobody listens on: the openai jobs fail fast, but they are taken by this worker only
      spawnWorker({ ...env(), WORKER_AGENTS: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:9', MAX_ATTEMPTS: '1' }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await Promise.all([echoWorker?.stop('SIGKILL'), openaiWorker?.stop('SIGKILL')]);
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });

  it('an API process started while workers live lists their agents, and again after a restart', async () => {
    for (let round = 0; round < 2; round++) {
      api = await startApi();
      const items = (await api.api('/v1/agents')).body.items as { name: string; workers: number }[];
      expect(items.map((a) => [a.name, a.workers])).toEqual([
        ['echo', 1],
        ['openai', 1],
      ]);
      await api.close();
      api = null;
    }
  });

  it('a worker never receives another agent’s job', async () => {
    api = await startApi();
    const ids: { agent: string; id: string }[] = [];
    for (let i = 0; i < 4; i++) {
      for (const [agent, input] of [
        ['echo', { message: `echo ${i}` }],
        ['openai', { prompt: `hi ${i}` }],
      ] as const) {
        const r = await api.api('/v1/jobs', { body: { agent, input } });
        expect(r.status).toBe(201);
        ids.push({ agent, id: r.body.id });
      }
    }
    for (const { id } of ids) {
      await waitFor(async () => ['completed', 'failed'].includes((await api!.api(`/v1/jobs/${id}`)).body.status), {
        message: `job ${id} to end`,
        timeoutMs: 30_000,
      });
    }
    // a worker that received another agent's job would end it `unknown_agent` (it cannot run it): none did
    for (const { agent, id } of ids) {
      const job = (await api.api(`/v1/jobs/${id}`)).body;
      if (agent === 'echo') expect(job).toMatchObject({ status: 'completed', error: null });
      else {
        expect(job.status).toBe('failed');
        expect(job.error.code).not.toBe('unknown_agent'); // the provider's failure, met by the openai worker
      }
    }
  }, 90_000);
});
