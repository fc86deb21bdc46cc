#!/usr/bin/env node
/**
 * What a snapshot costs (resume v2), at 10k and 100k events, on the memory log and on JetStream (a private
 * `nats-server -js` on a free port). Library level: the API's `GET /snapshot` and `?snapshot=true` call exactly
 * `SnapshotCache.stateAt` (plus one `log.last`/cursor check and the JSON).
 *
 *   npm run build && node bench/snapshot.mjs [--sizes=10000,100000] [--engines=memory,jetstream] [--every=1024]
 *
 * Per engine and size: a job of N events (tokens, thinking every 20th, a tool call every 500th) is appended, then
 * - naive: a full replay (read every page + reduce), what each request would cost without the cache;
 * - cold: the first snapshot at the end in a fresh cache (the same replay, recording checkpoints);
 * - warm now: the snapshot at the end again (median of 50);
 * - warm random: 200 snapshots at random cursors behind the frontier (checkpoint + < 1024 events each);
 * - live: 1,000 more events handed to `observe` as the live hub does, then "now" (no read).
 * Results go to stdout and bench/results/snapshot.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MemoryEventLog, JetStreamEventLog, SnapshotCache } from '@jobstream/event-log';
import { initialJobState, reduceJobEvent, newJobId } from '@jobstream/contracts';
import { killAll, ROOT, startNats } from './lib/procs.mjs';

const arg = (name, def) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
const SIZES = arg('sizes', '10000,100000').split(',').map(Number);
const ENGINES = arg('engines', 'memory,jetstream').split(',');
const EVERY = arg('every', undefined);

const eventAt = (i) => {
  if (i % 500 === 250)
    return { type: 'tool_call_start', call_id: `c${i}`, name: 'search', arguments: { q: `query ${i}` } };
  if (i % 500 === 251) return { type: 'tool_call_end', call_id: `c${i - 1}`, name: 'search', result: { hits: i } };
  if (i % 20 === 7) return { type: 'thinking', text: `thought ${i} ` };
  return { type: 'token', text: `tok${i} ` };
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))];
const ms = (x) => Math.round(x * 100) / 100;

async function fill(log, jobId, n) {
  const positions = [0];
  const t0 = performance.now();
  // appends in windows of 64 in flight (the log serializes them per job; seq stays dense)
  const WINDOW = 64;
  for (let i = 1; i <= n; i += WINDOW) {
    const batch = [];
    for (let j = i; j < Math.min(n + 1, i + WINDOW); j++)
      batch.push(log.append(jobId, { event: eventAt(j), attempt: 1, dedupId: `${jobId}:${j}` }));
    for (const e of await Promise.all(batch)) positions[e.event.seq] = e.pos;
  }
  return { positions, appendMs: performance.now() - t0 };
}

async function naive(log, jobId, n) {
  let s = initialJobState();
  let after = { seq: 0, pos: 0 };
  while (s.seq < n) {
    const page = await log.read(jobId, after, 2000);
    for (const e of page) s = reduceJobEvent(s, e.event);
    const last = page[page.length - 1];
    after = { seq: last.event.seq, pos: last.pos };
  }
  return s;
}

async function run(engine, log, n) {
  const jobId = newJobId();
  const { positions, appendMs } = await fill(log, jobId, n);
  // sanity: the filled log is dense
  if ((await log.last(jobId)).event.seq !== n) throw new Error('log not filled');

  let t = performance.now();
  const reference = await naive(log, jobId, n);
  const naiveMs = performance.now() - t;

  const cache = new SnapshotCache(log, EVERY ? { checkpointEvery: Number(EVERY) } : {});
  t = performance.now();
  const cold = await cache.stateAt(jobId, { seq: n, pos: positions[n] });
  const coldMs = performance.now() - t;
  if (cold.state.text !== reference.text) throw new Error('cold snapshot differs from the replay');
  const coldReads = cache.eventsRead;

  const nowTimes = [];
  for (let i = 0; i < 50; i++) {
    t = performance.now();
    await cache.stateAt(jobId, { seq: n, pos: positions[n] });
    nowTimes.push(performance.now() - t);
  }
  const readsBefore = cache.eventsRead;
  const randTimes = [];
  let rnd = 12345;
  for (let i = 0; i < 200; i++) {
    rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
    const seq = 1 + (rnd % n);
    t = performance.now();
    await cache.stateAt(jobId, { seq, pos: positions[seq] });
    randTimes.push(performance.now() - t);
  }
  const randReads = (cache.eventsRead - readsBefore) / 200;

  // live: the hub hands each new event to observe(); "now" then needs no read
  let observeMs = 0;
  for (let j = n + 1; j <= n + 1000; j++) {
    const e = await log.append(jobId, { event: eventAt(j), attempt: 1 });
    t = performance.now();
    cache.observe(e);
    observeMs += performance.now() - t;
    positions[j] = e.pos;
  }
  const liveBefore = cache.eventsRead;
  t = performance.now();
  await cache.stateAt(jobId, { seq: n + 1000, pos: positions[n + 1000] });
  const liveNowMs = performance.now() - t;

  return {
    engine,
    events: n,
    append_ms: Math.round(appendMs),
    naive_replay_ms: ms(naiveMs),
    cold_ms: ms(coldMs),
    cold_events_read: coldReads,
    warm_now_median_ms: ms(median(nowTimes)),
    warm_random_median_ms: ms(median(randTimes)),
    warm_random_p99_ms: ms(p99(randTimes)),
    warm_random_events_read_mean: Math.round(randReads),
    observe_us_per_event: ms((observeMs / 1000) * 1000),
    live_now_ms: ms(liveNowMs),
    live_now_events_read: cache.eventsRead - liveBefore,
    cache_bytes: cache.stats().bytes,
    text_chars: cold.state.text.length,
  };
}

const results = [];
try {
  for (const engine of ENGINES) {
    let log;
    let stop = async () => {};
    if (engine === 'memory') {
      log = new MemoryEventLog({ retentionMs: 3_600_000, maxEvents: 2_000_000 });
    } else {
      const nats = await startNats();
      log = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000, stream: 'BENCH_SNAPSHOT' });
      stop = () => nats.stop();
    }
    try {
      for (const n of SIZES) {
        const r = await run(engine, log, n);
        results.push(r);
        console.log(JSON.stringify(r));
      }
    } finally {
      await log.close();
      await stop();
    }
  }
} finally {
  killAll();
}

console.log(
  '\n| engine | events | naive replay | cold (1st) | warm now | warm random p50 / p99 (events read) | live now (reads) | observe/event | cache |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.engine} | ${r.events.toLocaleString('en')} | ${r.naive_replay_ms} ms | ${r.cold_ms} ms | ${r.warm_now_median_ms} ms | ${r.warm_random_median_ms} / ${r.warm_random_p99_ms} ms (${r.warm_random_events_read_mean}) | ${r.live_now_ms} ms (${r.live_now_events_read}) | ${r.observe_us_per_event} µs | ${Math.round(r.cache_bytes / 1024)} KiB |`,
  );
}
writeFileSync(
  join(ROOT, 'bench', 'results', 'snapshot.json'),
  JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2) + '\n',
);
