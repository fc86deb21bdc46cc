/**
 * Property-based fuzzing of every HTTP endpoint (REST, SSE, stream tokens, health, metrics) on the embedded engine
 * with auth on: thousands of hostile requests (see endpoints.ts and hostile.ts). Properties:
 * - never a 5xx; every 4xx is exactly the contract's `{ error: { code, message } }` as JSON;
 * - no body holds a stack frame, a source file or a server path;
 * - no log line holds an API key or the valid stream token, whatever shape it was sent in;
 * - afterwards the server is healthy and a normal job still streams exactly.
 *
 * Seeded: the seed is printed; `FUZZ_SEED=<n>` replays a run, `FUZZ_RUNS=<n>` changes its size. Bounded in time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import 'reflect-metadata';
import { Writable } from 'node:stream';
import { startApp, type RunningApp } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config/config.js';
import { hashKey } from '../../src/config/key-hash.js';
import { readAll, tokenText } from '../support/sse-client.js';
import { anyRequestArb, ENDPOINTS, type FuzzContext, type GeneratedRequest } from './endpoints.js';
import { closeClient, contractProblems, send } from './http-client.js';

const KEY = 'key-fuzz-acme-0001';
const OTHER_KEY = 'key-fuzz-globex-0001';
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);
/** The property run stops after this, whatever the number of runs reached (the suite stays under 60 s). */
const TIME_LIMIT_MS = 35_000;

function describeFailure(r: GeneratedRequest, problems: string[], status = 0): string {
  const body =
    r.body === undefined
      ? ''
      : ` body=${r.body.toString().slice(0, 200)}${r.body.length > 200 ? `…(${r.body.length} chars)` : ''}`;
  return `[${r.endpoint} ${status} ${problems.map((p) => p.slice(0, 30)).join('|')}] ${r.method} ${r.path.slice(0, 200)} headers=${JSON.stringify(r.headers).slice(0, 200)}${body} → ${problems.join('; ').slice(0, 400)}`;
}

/** One line per distinct failure (same endpoint and problem), with how often it happened. */
function distinct(failures: string[]): string[] {
  const byKey = new Map<string, { example: string; n: number }>();
  for (const f of failures) {
    const key = f.slice(0, f.indexOf(']') + 1);
    const e = byKey.get(key);
    if (e) e.n++;
    else byKey.set(key, { example: f, n: 1 });
  }
  return [...byKey.values()].map((e) => `${e.n}× ${e.example}`);
}

describe('hostile HTTP input (fuzz)', () => {
  let app: RunningApp;
  const log: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      log.push(chunk.toString('utf8'));
      cb();
    },
  });
  let ctx: FuzzContext;
  const auth = { Authorization: `Bearer ${KEY}` };

  async function finishedJob(key: string, message: string): Promise<{ id: string; last: string }> {
    const res = await fetch(`${app.url}/v1/jobs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ agent: 'echo', input: { message } }),
    });
    const job = (await res.json()) as { id: string };
    const done = await fetch(`${app.url}/v1/jobs/${job.id}/wait?timeout_s=30`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    const body = (await done.json()) as { last_event_id: string; status: string };
    expect(body.status).toBe('completed');
    return { id: job.id, last: body.last_event_id };
  }

  beforeAll(async () => {
    const config = loadConfig(
      {
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        API_KEYS: `acme:${KEY},globex:${OTHER_KEY}`,
        RATE_LIMIT_CREATE_PER_MIN: '0',
        AUTH_FAIL_LIMIT: '0', // the fuzzer sends thousands of bad keys on purpose
        // a Durable Streams long-poll / SSE read waits at most this (×3 for SSE): the fuzz client's reads end soon
        DS_LONG_POLL_MS: '100',
        STREAM_TOKEN_SECRET: 'fuzz-stream-token-secret-0123456789abcdef',
      },
      hashKey,
    );
    app = await startApp(config, { port: 0, logDestination: sink });
    const own = await finishedJob(KEY, 'own job for fuzzing');
    const other = await finishedJob(OTHER_KEY, 'another tenant');
    const tokenRes = await fetch(`${app.url}/v1/jobs/${own.id}/stream-tokens`, { method: 'POST', headers: auth });
    const { token } = (await tokenRes.json()) as { token: string };
    ctx = {
      key: KEY,
      otherKey: OTHER_KEY,
      ownJobId: own.id,
      otherJobId: other.id,
      streamToken: token,
      ownCursor: own.last,
    };
  });

  afterAll(async () => {
    closeClient();
    await app?.close();
  });

  it('never answers 5xx, always the contract error shape, never leaks internals or secrets; stays healthy', async () => {
    let requests = 0;
    const perEndpoint: Record<string, number> = {};
    const statuses: Record<number, number> = {};
    const created: string[] = [];
    const failures: string[] = [];
    const started = Date.now();
    process.stdout.write(`[fuzz:http] seed=${SEED} runs=${RUNS} (replay with FUZZ_SEED=${SEED})\n`);
    await fc.assert(
      fc.asyncProperty(anyRequestArb(ctx), async (r: GeneratedRequest) => {
        requests++;
        perEndpoint[r.endpoint] = (perEndpoint[r.endpoint] ?? 0) + 1;
        let res;
        try {
          res = await send(app.url, r);
        } catch (err) {
          failures.push(describeFailure(r, [`no HTTP answer: ${(err as Error).message}`]));
          return;
        }
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (r.endpoint === 'create' && res.status === 201) created.push((JSON.parse(res.text) as { id: string }).id);
        const problems = contractProblems(r, res);
        // every failure is collected (not just the first), so one run shows each distinct cause
        if (problems.length) failures.push(describeFailure(r, problems, res.status));
      }),
      { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `[fuzz:http] ${requests} requests in ${secs} s over ${Object.keys(perEndpoint).length} endpoints ${JSON.stringify(perEndpoint)}; statuses ${JSON.stringify(statuses)}\n`,
    );
    // stop what the fuzzer started, then: healthy, and a normal job still streams exactly
    for (const id of created) await fetch(`${app.url}/v1/jobs/${id}/cancel`, { method: 'POST', headers: auth });
    const ready = await fetch(`${app.url}/health/ready`);
    const res = await fetch(`${app.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ agent: 'echo', input: { message: 'still fine after the fuzz ', repeat: 3 } }),
    });
    expect(res.status).toBe(201);
    const job = (await res.json()) as { stream_url: string };
    const s = await readAll(app.url + job.stream_url, { headers: auth });

    // secrets never reach the log, whatever shape they were sent in (the signature alone is a secret too)
    const all = log.join('');
    const secrets = {
      api_key: KEY,
      other_api_key: OTHER_KEY,
      stream_token: ctx.streamToken,
      token_signature: ctx.streamToken.split('.')[2]!,
    };
    const leaked = Object.entries(secrets)
      .filter(([, v]) => all.includes(v))
      .map(([name, v]) => `${name} in the log: …${all.slice(Math.max(0, all.indexOf(v) - 300), all.indexOf(v) + 20)}…`);

    // everything at once, so one run reports every distinct problem
    expect({ failures: distinct(failures), leaked }).toEqual({ failures: [], leaked: [] });
    expect(requests).toBeGreaterThan(100);
    expect(Object.keys(perEndpoint).sort()).toEqual(ENDPOINTS.map((e) => e.name).sort());
    expect(all.length).toBeGreaterThan(0);
    expect(ready.status).toBe(200);
    expect(tokenText(s.events())).toBe('still fine after the fuzz '.repeat(3));
    expect(s.events().map((e) => e.seq)).toEqual(s.events().map((_, i) => i + 1));
  }, 60_000);
});
