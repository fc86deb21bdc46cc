// Joins and resumes of a live job replay from the API process's hot cache: no JetStream consumer is created, and the
// client gets exactly the job's events, dense, without duplicates (real nats-server + redis-server from the harness).
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { JobEvent } from '@jobstream/contracts';
import { JetStreamEventLog, type HotCache, type LiveHub, type ReplaySource } from '@jobstream/event-log';
import { HOT_CACHE, LIVE_HUB, REPLAY_SOURCE } from '../../src/jobs/jobs.constants.js';
import { startNatsTestApp, type NatsTestApp } from '../support/nats-app.js';
import { openSse, readAll } from '../support/sse-client.js';

describe('hot cache of a live job (JetStream + Redis)', () => {
  let app: NatsTestApp;
  let nc: NatsConnection;
  beforeAll(async () => {
    app = await startNatsTestApp({ HOT_CACHE_EVENTS: '5000' });
    nc = await connect({ servers: app.nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await app?.close();
  });

  const dense = (events: JobEvent[], from: number) =>
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + from));

  it('a client joining a live job (cursor within the window, or from the start) creates no consumer and gets every event once', async () => {
    const jsm = await jetstreamManager(nc);
    const countConsumers = async () => {
      let n = 0;
      for (const s of await jsm.streams.list().next()) n += s.state.consumer_count;
      return n;
    };
    // 150 tokens over ~3 s: more events than a replay reads with direct gets (64), so a log read would need a consumer
    const words = Array.from({ length: 150 }, (_, i) => `w${i} `).join('');
    const r = await app.api('/v1/jobs', { body: { agent: 'echo', input: { message: words, delay_ms: 20 } } });
    expect(r.status).toBe(201);
    const job = r.body as { id: string; stream_url: string };
    const watcher = await openSse(app.url + job.stream_url, { retryUnavailable: 3 });
    await watcher.until((items) => items.filter((i) => i.kind === 'event').length >= 100, 30_000);
    const hot = app.app.get<HotCache>(HOT_CACHE);
    const before = hot.stats();
    const window = hot.window(job.id);
    expect(window).not.toBeNull();
    expect(window!.base).toBeLessThan(20); // the watcher opened the job's feed almost at its start

    // poll the consumers while clients join (the work queue's consumer and others are there before: the baseline)
    const baseline = await countConsumers();
    let peak = baseline;
    let polling = true;
    const poller = (async () => {
      while (polling) peak = Math.max(peak, await countConsumers());
    })();
    const cursor = watcher.events()[70]!; // inside the window
    const [resumed, fromStart, fromStartToo] = await Promise.all([
      readAll(app.url + job.stream_url, { headers: { 'Last-Event-ID': cursor.id }, retryUnavailable: 3 }),
      readAll(app.url + job.stream_url, { retryUnavailable: 3 }),
      readAll(`${app.url}${job.stream_url}?after=0`, { retryUnavailable: 3 }),
    ]);
    polling = false;
    await poller;
    await watcher.ended;
    const seen = watcher.events();

    expect(peak).toBe(baseline);
    const all = seen;
    expect(all.at(-1)!.type).toBe('done');
    dense(all, 1);
    expect(resumed.events()).toEqual(all.slice(71));
    expect(fromStart.events()).toEqual(all);
    expect(fromStartToo.events()).toEqual(all);
    const after = hot.stats();
    expect(after.hits).toBeGreaterThan(before.hits);
  }, 60_000);

  it('a stream opened right after POST /v1/jobs is served from memory: no cursor lookup, no log read, every event once', async () => {
    const hub = app.app.get<LiveHub<string>>(LIVE_HUB);
    const replay = app.app.get<ReplaySource>(REPLAY_SOURCE);
    const hot = app.app.get<HotCache>(HOT_CACHE);
    // the stream's cursor check reads `first` (and `last`, which the in-process worker's appends use too); its
    // catch-up reads with `read` or a reader. None of them may be called for a stream of a job this process created.
    // (On the driver's prototype: the app's port is a tracing proxy of the driver.)
    const driver = JetStreamEventLog.prototype;
    const spies = [jest.spyOn(driver, 'first'), jest.spyOn(driver, 'read'), jest.spyOn(driver, 'openReader')];
    try {
      for (const input of [
        { message: 'one two three four five', delay_ms: 0 }, // likely over before the stream opens
        { message: 'six seven eight nine ten', delay_ms: 10 }, // live while it streams
      ]) {
        const misses = hot.stats().misses;
        const r = await app.api('/v1/jobs', { body: { agent: 'echo', input } });
        expect(r.status).toBe(201);
        const job = r.body as { id: string; stream_url: string };
        expect(replay.holds(job.id, { seq: 0, pos: 0 }) ?? hub.stats().jobs).toBeTruthy(); // its feed is open
        const [fromStart, fromZero] = await Promise.all([
          readAll(app.url + job.stream_url, { retryUnavailable: 3 }),
          readAll(`${app.url}${job.stream_url}?after=0`, { retryUnavailable: 3 }),
        ]);
        for (const s of spies) expect(s).not.toHaveBeenCalled();
        expect(hot.stats().misses).toBe(misses);
        const events = fromStart.events();
        expect(events.at(-1)!.type).toBe('done');
        dense(events, 1);
        expect(fromZero.events()).toEqual(events);
        // the text, not the events, is the job's: tokens that came faster than appends may share an event
        expect(events.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(input.message);
        // the log agrees (read after the check: this one does read the log)
        for (const s of spies) s.mockClear();
        const polled = await app.api(`/v1/jobs/${job.id}/events?after=0&limit=100`);
        expect((polled.body as { events: JobEvent[] }).events.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
        for (const s of spies) s.mockClear();
      }
    } finally {
      for (const s of spies) s.mockRestore();
    }
  }, 60_000);
});
