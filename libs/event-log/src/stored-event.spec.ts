import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { newJobId, type AgentEvent, type JobEvent } from '@jobstream/contracts';
import { stampEvent } from './stamp.js';
import { StoredEvent, scanEnvelope } from './stored-event.js';

/** Any text, including escapes JSON.stringify must write (quotes, backslashes, controls, lone surrogates). */
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '"', '\\', '\n', '\u2028', '\ud800', 'é', '🙂', '{"seq":9}', '","type":"done'),
);
const id = fc.stringMatching(/^[a-z0-9_]{1,20}$/);
const json = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<unknown>;
const usage = fc.record({ input_tokens: fc.nat(), output_tokens: fc.nat() });

const agentEvent: fc.Arbitrary<AgentEvent> = fc.oneof(
  fc.record({ type: fc.constant('token' as const), text }),
  fc.record({ type: fc.constant('thinking' as const), text }),
  fc.record({ type: fc.constant('status' as const), status: fc.constantFrom('queued' as const, 'running' as const) }),
  fc.record({ type: fc.constant('tool_call_start' as const), call_id: id, name: id, arguments: json }),
  fc.record({ type: fc.constant('tool_call_end' as const), call_id: id, name: id, result: json }),
  fc.record({ type: fc.constant('cancelled' as const), reason: text, usage }),
  fc.record({ type: fc.constant('error' as const), code: id, message: text, retryable: fc.boolean(), usage }),
  fc.record({ type: fc.constant('done' as const), usage, output: fc.record({ text }) }),
);

/** Job ids: the real kind, and anything else (unicode, quotes, backslashes). */
const jobId = fc.oneof(
  fc.constant(null).map(() => newJobId()),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);

/** A stored event exactly as the drivers write it: stampEvent + JSON.stringify. */
const stamped = fc
  .record({
    jobId,
    seq: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    attempt: fc.integer({ min: 1, max: 1_000 }),
    event: agentEvent,
    ts: fc.date({ min: new Date(0), max: new Date('9999-12-31'), noInvalidDate: true }),
  })
  .map(({ jobId, seq, attempt, event, ts }) => stampEvent(jobId, seq, { event, attempt, ts }));

const truth = (s: string) => {
  const e = JSON.parse(s) as JobEvent;
  return { jobId: e.job_id, seq: e.seq, type: e.type };
};

describe('scanEnvelope', () => {
  it('agrees with JSON.parse on every stored event, and takes the fast path for plain job ids', () => {
    fc.assert(
      fc.property(stamped, (e) => {
        const s = JSON.stringify(e);
        const got = scanEnvelope(s);
        if (got !== null) expect(got).toEqual(truth(s));
        const plain = JSON.stringify(e.job_id) === `"${e.job_id}"`; // nothing escaped
        if (plain && e.seq <= 999_999_999_999_999) expect(got).not.toBeNull();
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives up (null) or agrees when the keys come in another order', () => {
    fc.assert(
      fc.property(stamped, fc.func(fc.integer()), (e, rank) => {
        const keys = Object.keys(e).sort((a, b) => rank(a) - rank(b));
        const s = JSON.stringify(
          Object.fromEntries(keys.map((k) => [k, (e as unknown as Record<string, unknown>)[k]])),
        );
        const got = scanEnvelope(s);
        if (got !== null) expect(got).toEqual(truth(s));
        if (keys[0] !== 'job_id' || keys[1] !== 'seq') expect(got).toBeNull();
      }),
      { numRuns: 1_000 },
    );
  });

  it('never disagrees with JSON.parse on any JSON object with those keys, in any order, with any values', () => {
    // (each key once: JSON.stringify never writes a key twice, and the fast path relies on that)
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), json);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.constantFrom('job_id', 'seq', 'ts', 'attempt', 'type', 'text', 'x'), value), {
          maxLength: 7,
          selector: ([k]) => k,
        }),
        (pairs) => {
          const s = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
          const got = scanEnvelope(s);
          if (got !== null) expect(got).toEqual(truth(s));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('refuses odd but valid spellings of the envelope', () => {
    const ok = '{"job_id":"job_1","seq":12,"ts":"2026-01-01T00:00:00.000Z","attempt":1,"type":"token","text":"a"}';
    expect(scanEnvelope(ok)).toEqual({ jobId: 'job_1', seq: 12, type: 'token' });
    expect(scanEnvelope('{"job_id":"job_1","seq":1,"ts":"","attempt":1,"type":"done"}')).toEqual({
      jobId: 'job_1',
      seq: 1,
      type: 'done',
    });
    for (const odd of [
      ok.replace('"seq":12', '"seq":012'),
      ok.replace('"seq":12', '"seq":-12'),
      ok.replace('"seq":12', '"seq":12.0'),
      ok.replace('"seq":12', '"seq":1.2e1'),
      ok.replace('"seq":12', '"seq":"12"'),
      ok.replace('"seq":12', '"seq":1234567890123456'),
      ok.replace('"job_id":"job_1"', '"job_id":"job\\u005f1"'),
      ok.replace('"job_id":"job_1"', '"job_id":"jo\\"b"'),
      ok.replace('"type":"token"', '"type":"tok\\u0065n"'),
      ok.replace('"ts":"2026', '"ts":"\\"2026'),
      ok.replace('{"job_id"', '{ "job_id"'),
      ok.replace('"seq":12,', '"seq": 12,'),
      ok.replace('"type":"token",', '"type":"token" ,'),
      ok.replace('"attempt":1', '"attempt":null'),
      ok.slice(0, -1),
      ok + ' ',
      '',
      '{}',
      '{"job_id":"',
    ]) {
      expect(scanEnvelope(odd)).toBeNull();
    }
  });
});

describe('StoredEvent', () => {
  it('has the parsed event, seq, type and job id of its JSON; parses only on first access to event', () => {
    fc.assert(
      fc.property(stamped, fc.integer({ min: 1, max: 1e9 }), (e, pos) => {
        const s = JSON.stringify(e);
        const stored = new StoredEvent(s, pos);
        expect(stored.parsed).toBe(scanEnvelope(s) === null); // the fallback parses at once
        expect([stored.seq, stored.type, stored.jobId, stored.pos, stored.json]).toEqual([
          e.seq,
          e.type,
          e.job_id,
          pos,
          s,
        ]);
        expect(stored.event).toEqual(JSON.parse(s));
        expect(stored.parsed).toBe(true);
        expect(stored.event).toBe(stored.event); // parsed once
      }),
      { numRuns: 500 },
    );
  });

  it('keeps an event it is given, and compares equal by its stored form', () => {
    const e = stampEvent('job_1', 3, { event: { type: 'token', text: 'x' }, attempt: 1 });
    const given = new StoredEvent(JSON.stringify(e), 7, e);
    expect(given.event).toBe(e);
    expect(new StoredEvent(JSON.stringify(e), 7)).toEqual(given);
  });

  it('throws on the access to event when the JSON behind a well-formed envelope is not JSON', () => {
    const broken = new StoredEvent('{"job_id":"j","seq":1,"ts":"t","attempt":1,"type":"token","text":}', 1);
    expect(broken.seq).toBe(1);
    expect(() => broken.event).toThrow(SyntaxError);
    expect(() => new StoredEvent('{"seq":1, oops}', 1)).toThrow(SyntaxError);
  });
});
