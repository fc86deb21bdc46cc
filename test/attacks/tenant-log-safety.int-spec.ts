/**
 * What one tenant can do to another through the event log, on the real production engine (nats-server -js and
 * redis-server from the harness, the API with its in-process worker):
 * (a) the 1.1 GB echo request ends `too_many_bytes` after MAX_JOB_BYTES, and another tenant's finished job replays
 *     exactly afterwards;
 * (b) a small JETSTREAM_MAX_BYTES fills up: the appending job ends `event_log_full`, creates get 503 + Retry-After,
 *     nothing acknowledged is evicted;
 * (c) the log-bytes quota: the tenant's job ends `quota_exceeded`, its next create gets 429, another tenant goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { EVENTS_STREAM } from '@jobstream/contracts';
import { startNatsTestApp, type NatsTestApp } from '../support/nats-app.js';
import { waitFor } from '../support/wait.js';

const KEY_A = 'key-tenant-a-0123456789';
const KEY_B = 'key-tenant-b-0123456789';
const KEYS = { API_KEYS: `ta:${KEY_A},tb:${KEY_B}` };
const as = (key: string) => ({ Authorization: `Bearer ${key}` });

async function streamInfo(app: NatsTestApp) {
  const nc = await connect({ servers: app.nats.url });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
    return { bytes: info.state.bytes, messages: info.state.messages, config: info.config };
  } finally {
    await nc.close();
  }
}

async function create(app: NatsTestApp, key: string, input: Record<string, unknown>) {
  return app.api('/v1/jobs', { body: { agent: 'echo', input }, headers: as(key) });
}

async function finished(app: NatsTestApp, key: string, id: string) {
  const r = await app.api(`/v1/jobs/${id}/wait?timeout_s=60`, { headers: as(key) });
  expect(r.status).toBe(200);
  return r.body as { status: string; error: { code: string } | null };
}

/** Every event of a job through the polling API, page by page (pages are byte-bounded): dense seq checked. */
async function replay(app: NatsTestApp, key: string, id: string): Promise<{ seq: number }[]> {
  const events: { seq: number }[] = [];
  for (let after = '0'; ;) {
    const r = await app.api(`/v1/jobs/${id}/events?after=${after}&limit=1000`, { headers: as(key) });
    expect(r.status).toBe(200);
    events.push(...(r.body.events as { seq: number }[]));
    if (!r.body.has_more) break;
    after = r.body.next_after as string;
  }
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  return events;
}

/** Tenant A's finished job, and its events as first read. */
async function tenantAJob(app: NatsTestApp) {
  const r = await create(app, KEY_A, { message: 'tenant A keeps every word of this', repeat: 3 });
  expect(r.status).toBe(201);
  expect((await finished(app, KEY_A, r.body.id)).status).toBe('completed');
  return { id: r.body.id as string, events: await replay(app, KEY_A, r.body.id) };
}

describe('attack (a): the 1.1 GB echo request', () => {
  let app: NatsTestApp;
  beforeAll(async () => {
    app = await startNatsTestApp(KEYS);
  });
  afterAll(async () => {
    await app?.close();
  });

  it("ends too_many_bytes after at most MAX_JOB_BYTES; tenant A's job still replays exactly", async () => {
    const a = await tenantAJob(app);
    const before = await streamInfo(app);
    expect(before.config).toMatchObject({ discard: 'new', max_bytes: 1024 ** 3 });
    const started = Date.now();
    const r = await create(app, KEY_B, { message: 'a'.repeat(1_000_000), repeat: 1100 });
    expect(r.status).toBe(201);
    const end = await finished(app, KEY_B, r.body.id);
    expect(end).toMatchObject({ status: 'failed', error: { code: 'too_many_bytes' } });
    const after = await streamInfo(app);
    const written = after.bytes - before.bytes;
    console.log(
      `[attack a] tenant B's job wrote ${written} bytes in ${after.messages - before.messages} events ` +
        `(MAX_JOB_BYTES ${64 * 1024 * 1024}) in ${Date.now() - started} ms, then ended too_many_bytes`,
    );
    expect(written).toBeLessThanOrEqual(64 * 1024 * 1024 + 512 * 1024); // + the stored headers of ~260 events
    expect(written).toBeGreaterThan(60 * 1024 * 1024);
    expect(await replay(app, KEY_A, a.id)).toEqual(a.events);
  });
});

describe('attack (b): the log fills up (small JETSTREAM_MAX_BYTES)', () => {
  let app: NatsTestApp;
  beforeAll(async () => {
    app = await startNatsTestApp({
      ...KEYS,
      JETSTREAM_MAX_BYTES: String(8 * 1024 * 1024),
      TENANT_LOG_BYTES_QUOTA: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('ends the appending job event_log_full, refuses new jobs with 503 + Retry-After, and evicts nothing', async () => {
    const a = await tenantAJob(app);
    const r = await create(app, KEY_B, { message: 'b'.repeat(100_000), repeat: 200 });
    expect(r.status).toBe(201);
    const end = await finished(app, KEY_B, r.body.id);
    expect(end).toMatchObject({ status: 'failed', error: { code: 'event_log_full' } });
    const info = await streamInfo(app);
    console.log(
      `[attack b] the log holds ${info.bytes} of ${8 * 1024 * 1024} bytes; tenant B's job ended event_log_full`,
    );
    expect(info.bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    const refused = await create(app, KEY_A, { message: 'one more' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('service_unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // nothing acknowledged was evicted: A's job, and all of B's own events up to its terminal one
    expect(await replay(app, KEY_A, a.id)).toEqual(a.events);
    const bEvents = await replay(app, KEY_B, r.body.id);
    expect(bEvents.at(-1)).toMatchObject({ type: 'error', code: 'event_log_full', retryable: true });
    // deleting the big job frees the room: creates are accepted again
    expect((await app.api(`/v1/jobs/${r.body.id}`, { method: 'DELETE', headers: as(KEY_B) })).status).toBe(204);
    // (the stream's size is re-read within a second)
    let again = await create(app, KEY_A, { message: 'room again' });
    await waitFor(
      async () => again.status === 201 || (again = await create(app, KEY_A, { message: 'room again' })).status === 201,
      { timeoutMs: 10_000, message: 'a create accepted after the delete' },
    );
    expect(again.status).toBe(201);
  });
});

describe('attack (c): the log-bytes quota', () => {
  let app: NatsTestApp;
  const quota = 2 * 1024 * 1024;
  beforeAll(async () => {
    app = await startNatsTestApp({ ...KEYS, TENANT_LOG_BYTES_QUOTA: String(quota) });
  });
  afterAll(async () => {
    await app?.close();
  });

  it("ends the tenant's running job quota_exceeded and refuses its next create with 429; another tenant goes on", async () => {
    const a = await tenantAJob(app);
    const r = await create(app, KEY_B, { message: 'c'.repeat(100_000), repeat: 100 });
    expect(r.status).toBe(201);
    const end = await finished(app, KEY_B, r.body.id);
    expect(end).toMatchObject({ status: 'failed', error: { code: 'quota_exceeded' } });
    const info = await streamInfo(app);
    console.log(`[attack c] the log holds ${info.bytes} bytes after tenant B passed its quota of ${quota}`);
    expect(info.bytes).toBeLessThan(quota + 1024 * 1024);
    const refused = await create(app, KEY_B, { message: 'more' });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('quota_exceeded');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // tenant A is not affected
    const ok = await create(app, KEY_A, { message: 'still mine' });
    expect(ok.status).toBe(201);
    expect((await finished(app, KEY_A, ok.body.id)).status).toBe('completed');
    expect(await replay(app, KEY_A, a.id)).toEqual(a.events);
  });
});
