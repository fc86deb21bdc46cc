/** The OpenAPI document: every endpoint once, one tag per resource, every schema reference resolvable. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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
    for (const [path, item] of Object.entries<any>(doc.paths)) for (const [method, op] of Object.entries<any>(item)) ops.push({ path, method, op });
    for (const { path, method, op } of ops) {
      expect([path, method, op.tags]).toEqual([path, method, [expect.stringMatching(/^(Jobs|Streams|Threads|Shares|Webhooks)$/)]]);
    }
    expect(doc.tags.map((t: any) => t.name).sort()).toEqual(['Jobs', 'Shares', 'Streams', 'Threads', 'Webhooks']);
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
    };
    for (const [key, tag] of Object.entries(expected)) expect([key, byKey.get(key)?.tags]).toEqual([key, [tag]]);
    // operation ids are unique (nothing listed twice)
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    // every $ref points at a schema that exists, and the new schemas carry examples
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
    for (const r of new Set(refs)) expect([r, doc.components.schemas[r.split('/').pop()!] !== undefined]).toEqual([r, true]);
    for (const s of ['Thread', 'CreateThreadRequest', 'CreateTurnRequest', 'BatchJobsRequest', 'BatchJobsResponse', 'CreateShareRequest']) {
      expect([s, doc.components.schemas[s].example !== undefined]).toEqual([s, true]);
    }
    expect(doc.components.schemas.CreateTurnRequest.properties.if_busy.enum).toEqual(['reject', 'interrupt', 'enqueue']);
  });
});
