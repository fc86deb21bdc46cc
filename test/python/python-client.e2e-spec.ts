/**
 * The Python package (clients/python) in CI, with Debian's python3 and its standard library only:
 * (a) its unit tests (`python3 -m unittest`: the SSE parser, the stream's resume, the worker runner against a
 *     test double of the HTTP worker protocol) and its type hints (`mypy --strict`), and
 * (b) the Python client against the real app (embedded engine, auth on): exact resume after a drop, reconnects
 *     through a proxy that cuts connections, an approval answered, a cancel, and a job the TypeScript SDK created.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, seededRandom } from '@jobstream/sdk';
import { startTestApp, type TestApp } from '../support/app.js';
import { startCuttingProxy, type CuttingProxy } from '../support/cutting-proxy.js';
import { PKG, PYTHON, runPython } from '../support/python.js';

const KEY = 'python-e2e-key-0001';
const MESSAGE = 'Streams survive flaky networks: every token arrives once, in order, ünïcödé included ✓. ';

/** Runs python3 without blocking the event loop (the app under test lives in this process). */
const python = (args: string[], env: Record<string, string> = {}, timeoutMs = 120_000) =>
  runPython(args, env, timeoutMs);

describe('Python package (clients/python)', () => {
  it('finds Debian python3 (.ci/run installs it when missing)', () => {
    expect(existsSync(PYTHON)).toBe(true);
  });

  it('passes its unit tests (python3 -m unittest)', async () => {
    const r = await python(['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {}, 180_000);
    if (r.code !== 0) throw new Error(`python unit tests failed:\n${r.stderr}\n${r.stdout}`);
    const ran = /Ran (\d+) tests?/.exec(r.stderr);
    expect(Number(ran?.[1])).toBeGreaterThanOrEqual(30);
    expect(r.stderr).toMatch(/\nOK/);
    expect(r.stderr).not.toMatch(/skipped/);
  }, 200_000);

  it('type-checks with mypy --strict (Debian python3-mypy; .ci/run installs it when missing)', async () => {
    const r = await python(
      ['-m', 'mypy', '--strict', '--cache-dir=/dev/null', 'src/jobstream', 'examples/echo_agent.py'],
      { MYPYPATH: join(PKG, 'src') },
      180_000,
    );
    if (r.code !== 0) throw new Error(`mypy found problems:\n${r.stdout}\n${r.stderr}`);
    expect(r.stdout).toMatch(/^Success: no issues found/m);
  }, 200_000);

  describe('client against the real app (embedded engine, auth on)', () => {
    let app: TestApp;
    let proxy: CuttingProxy;
    beforeAll(async () => {
      app = await startTestApp({ API_KEYS: `acme:${KEY}`, HEARTBEAT_MS: '200', SSE_RETRY_MS: '100' });
      const rnd = seededRandom(23);
      proxy = await startCuttingProxy(app.url, () => 300 + Math.floor(rnd() * 900));
    });
    afterAll(async () => {
      await proxy?.close();
      await app?.close();
    });

    it('creates, streams, resumes exactly, answers, cancels and reads a job the TypeScript SDK created', async () => {
      const sdk = createClient({ baseUrl: app.url, apiKey: KEY });
      const sdkJob = await sdk.jobs.create({ agent: 'echo', input: { message: 'made by TypeScript, read by Python' } });

      const r = await python(['tests/e2e_client.py'], {
        JOBSTREAM_URL: app.url,
        JOBSTREAM_KEY: KEY,
        JOBSTREAM_PROXY_URL: proxy.url,
        SDK_JOB_ID: sdkJob.id,
      });
      if (r.code !== 0) throw new Error(`the Python e2e script failed:\n${r.stderr}`);
      expect(r.stderr).not.toContain(KEY);
      const out = JSON.parse(r.stdout) as Record<string, any>;
      const dense = (seqs: number[]) => seqs.map((_, i) => i + 1);

      // a drop after 6 events and a resume from the stored cursor: the rest exactly, no gap, no duplicate
      expect(out.resume.text).toBe(MESSAGE.repeat(3));
      expect(out.resume.seqs).toEqual(dense(out.resume.seqs));
      expect(out.resume.first_of_rest).toBe(7);
      expect(out.resume.terminal).toBe('done');

      // reconnecting by itself with Last-Event-ID through random cuts
      expect(out.flaky.text).toBe(MESSAGE.repeat(4));
      expect(out.flaky.seqs).toEqual(dense(out.flaky.seqs));
      expect(out.flaky.reconnects).toBeGreaterThan(0);
      expect(out.flaky.connections).toBeGreaterThan(1);

      // the approval: the question, the answer, then the rest of the text and done, on one stream
      const types: string[] = out.ask.types;
      expect(types.indexOf('input_required')).toBeLessThan(types.indexOf('input_received'));
      expect(types.at(-1)).toBe('done');
      expect(out.ask.seqs).toEqual(dense(out.ask.seqs));
      expect(out.ask.text).toBe('Send the quarterly report to all staff.');

      expect(out.cancel.terminal).toMatchObject({ type: 'cancelled', reason: 'python says stop' });
      expect(out.cancel.terminal.usage.output_tokens).toBeGreaterThanOrEqual(2);
      expect(out.cancel.status).toBe('cancelled');

      expect(out.sdk_job).toEqual({
        text: 'made by TypeScript, read by Python',
        terminal: 'done',
        output: { text: 'made by TypeScript, read by Python' },
      });
      // and the TypeScript side sees the same job ended
      expect((await sdk.jobs.get(sdkJob.id)).status).toBe('completed');

      expect(out.misc).toMatchObject({
        idempotent_same_id: true,
        replayed: [false, true],
        conflict: { status: 409 },
        waited: 'completed',
        page_seqs: dense(out.misc.page_seqs),
        page_has_more: true,
        listed: true,
        errors: {
          not_found: { status: 404, code: 'not_found' },
          bad_key: { status: 401, code: 'unauthorized', leaks_key: false },
          bad_input: { status: 400, code: 'invalid_request' },
        },
      });
    }, 120_000);
  });
});
