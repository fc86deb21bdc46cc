/**
 * The OpenAPI document: valid (@readme/openapi-parser, the maintained fork of swagger-parser), every endpoint once, one tag per resource, every schema reference
 * resolvable; and a client generated from it (openapi-typescript + openapi-fetch) compiles under tsc --strict, runs
 * against the API, and refuses wrong calls.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compileErrors, validate } from '@readme/openapi-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EVENT_TYPES } from '@jobstream/contracts';
import { startTestApp, type TestApp } from './support/app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

describe('OpenAPI document', () => {
  it('lists each operation once, under one resource tag, with its schemas', async () => {
    const doc = (await app.api('/docs-json')).body;
    const ops: { path: string; method: string; op: any }[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths))
      for (const [method, op] of Object.entries<any>(item)) ops.push({ path, method, op });
    for (const { path, method, op } of ops) {
      expect([path, method, op.tags]).toEqual([
        path,
        method,
        [expect.stringMatching(/^(Jobs|Streams|Threads|Shares|Webhooks|Agents|Durable Streams|worker)$/)],
      ]);
    }
    expect(doc.tags.map((t: any) => t.name).sort()).toEqual([
      'Agents',
      'Durable Streams',
      'Jobs',
      'Shares',
      'Streams',
      'Threads',
      'Webhooks',
      'worker',
    ]);
    const byKey = new Map(ops.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o.op]));
    const expected: Record<string, string> = {
      'POST /v1/threads': 'Threads',
      'GET /v1/threads': 'Threads',
      'GET /v1/threads/{id}': 'Threads',
      'DELETE /v1/threads/{id}': 'Threads',
      'POST /v1/threads/{id}/jobs': 'Threads',
      'GET /v1/threads/{id}/jobs': 'Threads',
      'POST /v1/jobs/{id}/rerun': 'Jobs',
      'POST /v1/jobs/batch': 'Jobs',
      'DELETE /v1/jobs/{id}': 'Jobs',
      'POST /v1/jobs/{id}/shares': 'Shares',
      'GET /v1/jobs/{id}/shares': 'Shares',
      'DELETE /v1/jobs/{id}/shares/{share_id}': 'Shares',
      'GET /v1/jobs/{id}/stream': 'Streams',
      'POST /v1/jobs': 'Jobs',
      'POST /v1/webhooks': 'Webhooks',
      'GET /v1/agents': 'Agents',
      'POST /v1/worker/claim': 'worker',
      'POST /v1/worker/leases/{lease_id}/events': 'worker',
      'POST /v1/worker/leases/{lease_id}/heartbeat': 'worker',
      'PUT /ds/v1/stream/{name}': 'Durable Streams',
      'POST /ds/v1/stream/{name}': 'Durable Streams',
      'GET /ds/v1/stream/{name}': 'Durable Streams',
      'HEAD /ds/v1/stream/{name}': 'Durable Streams',
      'DELETE /ds/v1/stream/{name}': 'Durable Streams',
    };
    for (const [key, tag] of Object.entries(expected)) expect([key, byKey.get(key)?.tags]).toEqual([key, [tag]]);
    // operation ids are unique (nothing listed twice)
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    // every $ref points at a schema that exists, and the new schemas carry examples
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
    for (const r of new Set(refs))
      expect([r, doc.components.schemas[r.split('/').pop()!] !== undefined]).toEqual([r, true]);
    for (const s of [
      'Thread',
      'CreateThreadRequest',
      'CreateTurnRequest',
      'BatchJobsRequest',
      'BatchJobsResponse',
      'CreateShareRequest',
    ]) {
      expect([s, doc.components.schemas[s].example !== undefined]).toEqual([s, true]);
    }
    expect(doc.components.schemas.CreateTurnRequest.properties.if_busy.enum).toEqual([
      'reject',
      'interrupt',
      'enqueue',
    ]);
  });
});

describe('OpenAPI document: examples a reader can trust', () => {
  /** The codes each status can carry (src/common/error-mapping.ts and the endpoints' ApiErrors), written out here. */
  const CODES_BY_STATUS: Record<string, string[]> = {
    '400': ['invalid_request', 'invalid_cursor', 'unknown_agent'],
    '401': ['unauthorized'],
    '403': ['forbidden', 'stale_producer_epoch'],
    '404': ['not_found'],
    '409': [
      'conflict',
      'idempotency_conflict',
      'job_active',
      'thread_busy',
      'already_answered',
      'not_waiting',
      'stream_exists',
      'stream_closed',
      'content_type_mismatch',
      'producer_seq_gap',
      'stream_seq_conflict',
      'stream_deleted',
    ],
    '410': ['cursor_expired', 'stream_deleted', 'lease_lost'],
    '413': ['payload_too_large'],
    '415': ['unsupported_media_type'],
    '429': ['rate_limited', 'quota_exceeded', 'too_many_connections'],
    '503': ['service_unavailable', 'too_many_connections'],
  };

  it("gives every error response an example per code, each a code of that response's status", async () => {
    const doc = (await app.api('/docs-json')).body;
    const wrong: string[] = [];
    const seen = new Map<string, Set<string>>();
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        for (const [status, res] of Object.entries<any>(op.responses)) {
          if (Number(status) < 400) continue;
          const where = `${method.toUpperCase()} ${path} ${status}`;
          const content = res.content?.['application/json'];
          const examples = Object.values<any>(content?.examples ?? {});
          if (content?.schema?.$ref !== '#/components/schemas/Error' || examples.length === 0) {
            wrong.push(`${where}: no Error schema or no example`);
            continue;
          }
          for (const ex of examples) {
            const { code, message } = ex.value.error;
            if (!CODES_BY_STATUS[status]?.includes(code)) wrong.push(`${where}: example code ${code}`);
            if (typeof message !== 'string' || message.length === 0) wrong.push(`${where}: no message`);
            seen.set(status, (seen.get(status) ?? new Set()).add(code));
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    // every status appears, with its codes (not one code copied everywhere)
    expect([...seen.keys()].sort()).toEqual(Object.keys(CODES_BY_STATUS).sort());
    expect([...seen.get('401')!]).toEqual(['unauthorized']);
    expect([...seen.get('409')!].sort()).toEqual([...CODES_BY_STATUS['409']!].sort());
    expect([...seen.get('503')!].sort()).toEqual(['service_unavailable', 'too_many_connections']);
    // a description that names codes gets exactly those
    const turn409 = doc.paths['/v1/threads/{id}/jobs'].post.responses['409'].content['application/json'].examples;
    expect(Object.keys(turn409).sort()).toEqual(['idempotency_conflict', 'thread_busy']);
  });

  it('shows a job as the API returns it: a queued job with nothing started or finished, and plausible usage', async () => {
    const doc = (await app.api('/docs-json')).body;
    const { Job, Usage } = doc.components.schemas;
    expect(Job.example).toMatchObject({ status: 'queued', started_at: null, finished_at: null, error: null });
    // the example has every required field, and no other
    expect(Object.keys(Job.example).sort()).toEqual([...Job.required, 'metadata', 'pending_input'].sort());
    // and it is what the API answers, field by field (shape and types)
    const created = await app.api('/v1/jobs', {
      method: 'POST',
      body: { agent: 'echo', input: { message: 'hi', delay_ms: 1000 } },
    });
    expect(created.status).toBe(201);
    const typeOf = (o: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null ? 'null' : typeof v]));
    expect(typeOf(Job.example)).toEqual(typeOf(created.body));
    for (const v of Object.values<number>(Usage.example)) expect(v).toBeLessThan(1_000_000);
    expect(JSON.stringify([Job.example, Usage.example])).not.toContain(String(Number.MAX_SAFE_INTEGER));
  });
});

describe('OpenAPI document: valid, and a typed client generated from it compiles', () => {
  it('is valid OpenAPI: the validator finds no error and no warning (schema, $refs, unique operation ids, path parameters)', async () => {
    const doc = (await app.api('/docs-json')).body;
    expect(doc.openapi).toMatch(/^3\./);
    // validate() dereferences in place: hand it a copy
    const result = await validate(structuredClone(doc));
    expect(result.valid ? [] : compileErrors(result)).toEqual([]);
    expect(result.warnings).toEqual([]);
    // and it does find errors: the same document with an operation that breaks the schema is refused
    const broken = structuredClone(doc);
    broken.paths['/v1/jobs'].post.responses = 'none';
    broken.paths['/v1/jobs/{id}'].get.operationId = broken.paths['/v1/jobs'].post.operationId;
    const refused = await validate(broken);
    expect(refused.valid).toBe(false);
    expect(compileErrors(refused)).toMatch(/responses/);
  });

  it('declares each tag once and uses every tag; every parameter has a typed schema', async () => {
    const doc = (await app.api('/docs-json')).body;
    const declared: string[] = doc.tags.map((t: any) => t.name);
    expect(new Set(declared).size).toBe(declared.length);
    const used = new Set<string>();
    const untyped: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        for (const t of op.tags) used.add(t);
        for (const p of op.parameters ?? [])
          if (!p.schema?.type && !p.schema?.$ref) untyped.push(`${method.toUpperCase()} ${path} ${p.in} ${p.name}`);
      }
    }
    expect([...used].sort()).toEqual([...declared].sort());
    expect(untyped).toEqual([]);
    // the event union names its values: a discriminator without a mapping would mean the schema names ("TokenEvent")
    const jobEvent = doc.components.schemas.JobEvent;
    expect(Object.keys(jobEvent.discriminator.mapping).sort()).toEqual([...EVENT_TYPES].sort());
    for (const [type, ref] of Object.entries<string>(jobEvent.discriminator.mapping)) {
      expect([type, doc.components.schemas[ref.split('/').pop()!].properties.type.enum]).toEqual([type, [type]]);
    }
  });

  it('generates a client (openapi-typescript) that type-checks with tsc --strict, runs against the API, and rejects wrong usage', async () => {
    const doc = (await app.api('/docs-json')).body;
    const dir = mkdtempSync(join(tmpdir(), 'jobstream-openapi-client-'));
    try {
      writeFileSync(join(dir, 'schema.ts'), astToString(await openapiTS(doc)));
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2022', 'DOM'],
            types: ['node'],
            skipLibCheck: true,
            outDir: 'out',
          },
          files: ['usage.ts', 'misuse.ts'],
        }),
      );
      writeFileSync(join(dir, 'usage.ts'), USAGE);
      writeFileSync(join(dir, 'misuse.ts'), MISUSE);

      const errors = await tsc(dir);
      // the client as a user writes it compiles, strictly…
      expect(errors.filter((e) => e.file !== 'misuse.ts')).toEqual([]);
      // …and every wrong call is refused, each on its own line (nothing else in the file is)
      const wrongLines = MISUSE.split('\n').flatMap((l, i) => (l.includes('// wrong:') ? [i + 1] : []));
      expect(wrongLines.length).toBeGreaterThanOrEqual(8);
      expect(
        [...new Set(errors.filter((e) => e.file === 'misuse.ts').map((e) => e.line))].sort((a, b) => a - b),
      ).toEqual(wrongLines);

      // the compiled client talks to the real API
      const { stdout } = await run(process.execPath, [join(dir, 'out/usage.js')], {
        env: { ...process.env, BASE_URL: app.url },
        timeout: 20_000,
      });
      expect(JSON.parse(stdout)).toEqual({
        status: 'completed',
        text: '[queued][running]typed client[done 2]',
        refused: 'unknown_agent',
        listed: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/** Runs the project's tsc on a folder; its diagnostics as { file, line, code }. */
async function tsc(dir: string): Promise<{ file: string; line: number; code: string; text: string }[]> {
  const out = await run(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir, '--pretty', 'false'],
    { cwd: dir, timeout: 45_000 },
  ).then(
    (r) => r.stdout,
    (e: { stdout?: string; code?: number }) => {
      if (typeof e.stdout !== 'string' || e.code !== 2) throw e; // 2 = diagnostics; anything else is a broken run
      return e.stdout;
    },
  );
  return out
    .split('\n')
    .filter((l) => l.includes(': error TS'))
    .map((l) => {
      const m = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(l);
      return m
        ? { file: m[1]!, line: Number(m[2]), code: m[3]!, text: m[4]! }
        : { file: '?', line: 0, code: '?', text: l };
    });
}

/** How a user of the generated types calls the API (openapi-fetch); compiled and run against the test app. */
const USAGE = `import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';

type Job = components['schemas']['Job'];
type JobEvent = components['schemas']['JobEvent'];

// type level: the body of POST /v1/jobs is the contract's CreateJobRequest, and the answer a Job
type CreateBody = paths['/v1/jobs']['post']['requestBody']['content']['application/json'];
const body: CreateBody = { agent: 'echo', input: { message: 'typed client' }, metadata: { from: 'openapi' } };
type Created = paths['/v1/jobs']['post']['responses'][201]['content']['application/json'];
const sameAsJob: Created extends Job ? (Job extends Created ? true : false) : false = true;

function show(ev: JobEvent): string {
  switch (ev.type) {
    case 'token':
      return ev.text;
    case 'status':
      return '[' + ev.status + ']';
    case 'done':
      return '[done ' + ev.usage.output_tokens + ']';
    case 'error':
      return '[error ' + ev.code + ']';
    default:
      return '[' + ev.type + ']';
  }
}

const client = createClient<paths>({ baseUrl: process.env.BASE_URL });

const created = await client.POST('/v1/jobs', { body, params: { header: { 'Idempotency-Key': 'openapi-client-1' } } });
if (!created.data) throw new Error('create failed: ' + created.error.error.code);
const job: Job = created.data;
const waited = await client.GET('/v1/jobs/{id}/wait', { params: { path: { id: job.id }, query: { timeout_s: 10 } } });
const page = await client.GET('/v1/jobs/{id}/events', { params: { path: { id: job.id }, query: { after: '0', limit: 100 } } });
const refused = await client.POST('/v1/jobs', { body: { agent: 'no-such-agent', input: {} } });
const list = await client.GET('/v1/jobs', { params: { query: { status: 'completed', limit: 10 } } });
const events: JobEvent[] = page.data?.events ?? [];
console.log(
  JSON.stringify({
    status: waited.data?.status,
    text: events.map(show).join(''),
    refused: refused.error?.error.code,
    listed: sameAsJob && (list.data?.items ?? []).some((j) => j.id === job.id),
  }),
);
`;

/** Calls the types must refuse: each marked line must be a compile error (so this test can fail). */
const MISUSE = `import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:1' });
export async function misuse(ev: components['schemas']['JobEvent']): Promise<void> {
  await client.POST('/v1/jobs', { body: { agent: 'echo' } }); // wrong: input is required
  await client.POST('/v1/jobs', { body: { agent: 7, input: {} } }); // wrong: agent is a string
  await client.POST('/v1/jobs', { body: { agent: 'echo', input: 'hello' } }); // wrong: input is an object
  await client.GET('/v1/jobz'); // wrong: no such path
  await client.DELETE('/v1/jobs'); // wrong: no DELETE on the collection
  await client.GET('/v1/jobs/{id}', {}); // wrong: the path parameter is missing
  await client.GET('/v1/jobs', { params: { query: { status: 'finished' } } }); // wrong: not a job status
  await client.POST('/v1/webhooks', { body: { url: 'https://example.com/h', events: ['job.started'] } }); // wrong: not a webhook event
  const job = (await client.GET('/v1/jobs/{id}', { params: { path: { id: 'job_1' } } })).data;
  const n: number | undefined = job?.status; // wrong: a status is a string
  if (ev.type === 'token') console.log(ev.usage); // wrong: a token event has no usage
  if (ev.type === 'TokenEvent') console.log(ev); // wrong: the discriminator values are the event types
}
`;
