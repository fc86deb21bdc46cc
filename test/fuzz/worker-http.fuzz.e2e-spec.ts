/**
 * Hostile input on the HTTP worker protocol (worker key, embedded engine): every generated claim, append and
 * heartbeat is answered with a clear 2xx/4xx — never a 500 — and a lease's log only ever holds valid events, each
 * appended once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { startTestApp, type TestApp } from '../support/app.js';
import { WORKER_ENV, WORKER_KEY, workerCalls } from '../suites/worker-http.suite.js';
import { hostileHeaderValue, hostileIdSegment, hostileValue, toJsonText, type Hostile } from './hostile.js';

const worker = { Authorization: `Bearer ${WORKER_KEY}`, 'Content-Type': 'application/json' };
/** 414 / 431: Node's own answer to a URL or header too long for it. */
const OK = new Set([200, 204, 400, 404, 409, 410, 413, 414, 431]);

describe('HTTP worker protocol under hostile input', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ...WORKER_ENV });
  });
  afterAll(async () => {
    await app?.close();
  });

  const raw = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const r = await fetch(app.url + path, { method: 'POST', headers: { ...worker, ...headers }, body });
    await r.arrayBuffer();
    return r.status;
  };

  it('never answers 500, whatever the body, Producer-Seq or lease id; the log holds only valid events', async () => {
    const w = workerCalls(app.api);
    await w.claim(['fuzz'], 0);
    const job = (await w.create('fuzz')).body;
    const lease = (await w.claim(['fuzz'], 5)).body.lease_id as string;
    const outputs = fc.oneof(
      hostileValue,
      fc.array(hostileValue, { maxLength: 5 }),
      fc.array(
        fc.record({
          type: fc.constantFrom('token', 'thinking', 'tool_call_start', 'input_required', 'status', 'done'),
          text: hostileValue,
          prompt: hostileValue,
          kind: hostileValue,
        }) as fc.Arbitrary<Hostile>,
        { maxLength: 4 },
      ),
    );
    const seen: number[] = [];
    await fc.assert(
      fc.asyncProperty(
        outputs,
        fc.oneof(fc.constantFrom('0', '1', '2', '-1', '99999999999999999999'), hostileHeaderValue),
        fc.boolean(),
        async (body, seq, ownLease) => {
          const id = ownLease ? lease : 'lease_fuzz';
          const status = await raw(`/v1/worker/leases/${id}/events`, toJsonText(body), { 'Producer-Seq': seq });
          seen.push(status);
          expect(OK.has(status) || status === 503).toBe(true);
        },
      ),
      { numRuns: 150, seed: 23 },
    );
    await fc.assert(
      fc.asyncProperty(hostileValue, hostileIdSegment, async (body, id) => {
        expect(OK).toContain(await raw('/v1/worker/claim', toJsonText(body)));
        expect(OK).toContain(await raw(`/v1/worker/leases/${id}/heartbeat`, '{}'));
      }),
      { numRuns: 60, seed: 29 },
    );
    expect(seen).not.toContain(500);
    const events = await w.events(job.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    for (const e of events)
      expect([
        'status',
        'token',
        'thinking',
        'tool_call_start',
        'input_required',
        'done',
        'error',
        'cancelled',
        'input_received',
      ]).toContain(e.type);
  }, 120_000);
});
