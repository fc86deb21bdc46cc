/**
 * Property-based fuzzing of the NATS request-reply API (`jobstream.api.jobs.*`) against a real nats-server started
 * by the harness, the API on the NATS engine with auth on. Hostile payloads: every field replaced by values of the
 * wrong type, built-in member names as keys and values, raw non-JSON bytes, deep and wide JSON, Nest-envelope look-
 * alikes. Properties: every reply is JSON, either a job or the contract's error (never `internal_error`), never a
 * stack frame or a path; afterwards a normal job created over NATS still streams exactly.
 *
 * Seeded: the seed is printed; `FUZZ_SEED=<n>` replays a run. Bounded in time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { API_SUBJECTS } from '@jobstream/contracts';
import { startNats, type RunningNats } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { readAll, tokenText } from '../support/sse-client.js';
import {
  BUILTIN_NAMES,
  RawJson,
  deepNesting,
  hostileString,
  hostileValue,
  toJsonText,
  wideValue,
  type Hostile,
} from './hostile.js';
import { LEAK_RE, isErrorBody } from './http-client.js';

const KEY = 'key-nats-fuzz-acme-01';
const OTHER = 'key-nats-fuzz-globex-01';
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const TIME_LIMIT_MS = 20_000;

type Subject = keyof typeof API_SUBJECTS;

let nats: RunningNats;
let app: TestApp;
let nc: NatsConnection;
let ownJobId: string;
let otherJobId: string;

async function request(subject: string, payload: string | Uint8Array): Promise<string> {
  const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const m = await nc.request(subject, data, { timeout: 10_000 });
  return new TextDecoder().decode(m.data);
}

function bases(): Record<Subject, Record<string, Hostile>> {
  return {
    create: {
      api_key: KEY,
      agent: 'echo',
      input: { message: 'nats fuzz' },
      metadata: { a: 1 },
      idempotency_key: 'k-1',
    },
    get: { api_key: KEY, id: ownJobId },
    cancel: { api_key: KEY, id: ownJobId, reason: 'fuzz' },
    input: { api_key: KEY, id: ownJobId, request_id: 'req_1', input: { approved: true } },
    threadsCreate: { api_key: KEY, agent: 'echo', metadata: { a: 1 } },
    threadJobsCreate: {
      api_key: KEY,
      id: 'thr_00000000000000000000000000',
      input: { message: 'x' },
      if_busy: 'reject',
    },
  };
}

const idValue = (): fc.Arbitrary<Hostile> =>
  fc.oneof(
    fc.constant(ownJobId),
    fc.constant(otherJobId),
    fc.constantFrom(...BUILTIN_NAMES),
    hostileString,
    fc.constant('job_00000000000000000000000000'),
  );

/** A payload: the valid base with a few hostile changes, or raw bytes that are not a JSON object at all. */
function payloadArb(subject: Subject): fc.Arbitrary<string> {
  const base = bases()[subject];
  const keys = Object.keys(base);
  const mutated = fc
    .tuple(
      fc.array(fc.constantFrom(...keys), { maxLength: 1 }),
      fc.array(fc.tuple(fc.constantFrom(...keys, ...BUILTIN_NAMES, 'extra'), hostileValue), { maxLength: 2 }),
      fc.option(idValue(), { nil: undefined }),
      fc.option(fc.oneof(fc.constantFrom(...BUILTIN_NAMES), fc.constant('openai'), hostileString), { nil: undefined }),
      fc.option(fc.oneof(fc.constant(OTHER), hostileString), { nil: undefined }),
    )
    .map(([dropped, replaced, id, agent, apiKey]) => {
      const o = Object.create(null) as Record<string, Hostile>;
      for (const k of keys) if (!dropped.includes(k)) o[k] = base[k]!;
      if (id !== undefined && 'id' in o) o.id = id;
      if (agent !== undefined && 'agent' in o) o.agent = agent;
      if (apiKey !== undefined) o.api_key = apiKey;
      for (const [k, v] of replaced) o[k] = v;
      return toJsonText(o);
    });
  const raw = fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      '{',
      'null',
      '[]',
      '"x"',
      '1e309',
      'true',
      '{"a":1,}',
      '\u0000',
      '\uFEFF{}',
      '{"__proto__":{"api_key":"x"}}',
    ),
    hostileValue.map((v) => toJsonText(v)),
    deepNesting.map((v) => toJsonText(v)),
    wideValue.map((v) => toJsonText(v)),
    // look-alikes of Nest's own envelope
    fc
      .tuple(
        fc.oneof(fc.constant(API_SUBJECTS[subject]), hostileString),
        hostileValue,
        fc.oneof(fc.constantFrom(...BUILTIN_NAMES), hostileString),
      )
      .map(([pattern, data, id]) => toJsonText({ pattern, data, id })),
  );
  return fc.oneof({ weight: 4, arbitrary: mutated }, { weight: 1, arbitrary: raw });
}

function replyProblems(text: string): string[] {
  const problems: string[] = [];
  if (LEAK_RE.test(text)) problems.push(`reply leaks internals: ${text.slice(0, 300)}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [...problems, `reply is not JSON: ${text.slice(0, 200)}`];
  }
  const o = v as Record<string, unknown> | null;
  const resource = o && typeof o === 'object' ? (['job', 'thread'] as const).find((k) => k in o) : undefined;
  if (o && resource) {
    if (typeof (o[resource] as { id?: unknown } | null)?.id !== 'string')
      problems.push(`a ${resource} reply without one: ${text.slice(0, 200)}`);
  } else if (o && typeof o === 'object' && 'isDisposed' in o) {
    // a Nest-envelope look-alike is answered in Nest's envelope; its error must still say nothing of the internals
    if (
      'response' in o &&
      o.response &&
      typeof o.response === 'object' &&
      'error' in o.response &&
      !isErrorBody(o.response)
    ) {
      problems.push(`enveloped error is not the contract's: ${text.slice(0, 200)}`);
    }
  } else if (!isErrorBody(v)) {
    problems.push(`reply is neither a job nor the contract error: ${text.slice(0, 200)}`);
  } else if ((v as { error: { code: string } }).error.code === 'internal_error') {
    problems.push(`internal_error: ${text.slice(0, 200)}`);
  }
  return problems;
}

beforeAll(async () => {
  nats = await startNats();
  app = await startTestApp({
    NATS_URL: nats.url,
    EMBEDDED_WORKER: 'true',
    API_KEYS: `acme:${KEY},globex:${OTHER}`,
    RATE_LIMIT_CREATE_PER_MIN: '0',
    MAX_EVENTS_PER_JOB: '500',
    // one event per token, so that the runaway job below reaches the event cap (merged, its 1,000 fast tokens would be
    // a few events: coalescing's own caps are the runner's unit tests)
    COALESCE_TEXT_EVENTS: 'false',
  });
  nc = await connect({ servers: nats.url });
  const own = JSON.parse(
    await request(API_SUBJECTS.create, JSON.stringify({ api_key: KEY, agent: 'echo', input: { message: 'own' } })),
  ) as { job: { id: string } };
  const other = JSON.parse(
    await request(API_SUBJECTS.create, JSON.stringify({ api_key: OTHER, agent: 'echo', input: { message: 'other' } })),
  ) as { job: { id: string } };
  ownJobId = own.job.id;
  otherJobId = other.job.id;
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await app?.close();
  await nats?.destroy();
});

describe('hostile NATS request-reply input (fuzz)', () => {
  it('replies with a job or the contract error, never internal_error, never internals; stays usable', async () => {
    process.stdout.write(`[fuzz:nats] seed=${SEED} runs=${RUNS} (replay with FUZZ_SEED=${SEED})\n`);
    const subjects = Object.keys(API_SUBJECTS) as Subject[];
    const failures: string[] = [];
    const created: string[] = [];
    let requests = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...subjects).chain((s) => payloadArb(s).map((p) => [s, p] as const)),
        async ([subject, payload]) => {
          // the client itself refuses to publish past the server's max_payload: nothing reaches the API
          if (Buffer.byteLength(payload) > (nc.info?.max_payload ?? 1024 * 1024)) return;
          requests++;
          let text: string;
          try {
            text = await request(API_SUBJECTS[subject], payload);
          } catch (err) {
            failures.push(`${subject} ${payload.slice(0, 200)} → no reply: ${(err as Error).message}`);
            return;
          }
          const problems = replyProblems(text);
          if (problems.length) failures.push(`${subject} ${payload.slice(0, 200)} → ${problems.join('; ')}`);
          if (subject === 'create' && text.includes('"created":true'))
            created.push((JSON.parse(text) as { job: { id: string } }).job.id);
        },
      ),
      { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    process.stdout.write(
      `[fuzz:nats] ${requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s, ${created.length} jobs created\n`,
    );
    expect(failures.slice(0, 20)).toEqual([]);
    expect(requests).toBeGreaterThan(100);

    for (const id of created) await request(API_SUBJECTS.cancel, JSON.stringify({ api_key: KEY, id }));
    const { job } = JSON.parse(
      await request(
        API_SUBJECTS.create,
        JSON.stringify({ api_key: KEY, agent: 'echo', input: { message: 'after the fuzz ', repeat: 2 } }),
      ),
    ) as {
      job: { id: string };
    };
    const s = await readAll(`${app.url}/v1/jobs/${job.id}/stream`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(tokenText(s.events())).toBe('after the fuzz after the fuzz ');
  }, 60_000);

  it('refuses a deep, wide or __proto__-keyed payload with a clear invalid_request (regressions)', async () => {
    const deep = `{"api_key":"${KEY}","agent":"echo","input":{"message":"x"},"metadata":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    expect(JSON.parse(await request(API_SUBJECTS.create, deep))).toEqual({
      error: { code: 'invalid_request', message: expect.stringMatching(/deeper than 32/) },
    });
    const proto = `{"api_key":"${KEY}","agent":"echo","input":{"message":"x"},"metadata":{"__proto__":{"x":1}}}`;
    expect(JSON.parse(await request(API_SUBJECTS.create, proto)).error.code).toBe('invalid_request');
    for (const agent of BUILTIN_NAMES) {
      const r = JSON.parse(
        await request(API_SUBJECTS.create, JSON.stringify({ api_key: KEY, agent, input: { message: 'x' } })),
      );
      expect(r.error).toMatchObject({ code: 'unknown_agent', message: expect.stringMatching(/unknown agent/) });
    }
    expect(new RawJson('x').text).toBe('x');
  });

  it('ends a runaway job on JetStream too: MAX_EVENTS_PER_JOB ⇒ error too_many_events', async () => {
    const message = Array.from({ length: 1_000 }, (_, i) => `t${i} `).join('');
    const { job } = JSON.parse(
      await request(API_SUBJECTS.create, JSON.stringify({ api_key: KEY, agent: 'echo', input: { message } })),
    ) as { job: { id: string } };
    const s = await readAll(`${app.url}/v1/jobs/${job.id}/stream`, { headers: { Authorization: `Bearer ${KEY}` } });
    const events = s.events();
    expect(events).toHaveLength(500);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'too_many_events', retryable: false });
  });
});
