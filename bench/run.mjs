/**
 * jobstream benchmarks: `npm run bench` (full, < 10 min) or `npm run bench -- --quick` (< 60 s, smaller sizes).
 * Options: --only=fanout,latency,...  --api-env=K=V (extra API env)  --profile (run the fan-out API under `node --cpu-prof`, print its top frames)
 *          --reps=N (repetitions of the throughput scenarios; medians are reported)
 *
 * Everything runs on 127.0.0.1: a private nats-server + redis-server on free ports, the API in its own process
 * (`node dist/src/main.js`, EMBEDDED_WORKER=true on the NATS engine), clients in separate processes.
 * Writes bench/results/latest.json (or quick.json) and prints a table. See bench/README.md for the method.
 */
import { writeFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { connect as natsConnect, consumerOpts } from 'nats';
import { openSse, newStats, histPercentiles } from './lib/sse-client.mjs';
import { ROOT, sleep, startNats, startRedis, startApi, startWorker, startHelper, startClients, rssKb, cpuMs } from './lib/procs.mjs';
import { summarize } from './profile-summary.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const profile = args.includes('--profile');
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const repsArg = args.find((a) => a.startsWith('--reps='));
/** `--api-env=K=V` (repeatable): extra environment of the API process (e.g. WEBHOOKS_ENABLED=false to compare). */
const EXTRA_API_ENV = Object.fromEntries(
  args.filter((a) => a.startsWith('--api-env=')).map((a) => {
    const kv = a.slice('--api-env='.length);
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);
const startedAt = Date.now();
const DEADLINE_MS = quick ? 58_000 : 570_000;

const SIZES = quick
  ? { fanout: { clients: 200, tokens: 500 }, latency: { jobs: 40, per: 5, seconds: 3 }, replay: { events: 2_000 },
      connections: { count: 2_000 }, ttft: { n: 15 }, broker: { jobs: 20, clients: 200 }, peer: { listeners: 50, chunks: 500 },
      reps: 1, clientProcs: 2 }
  : { fanout: { clients: 1_000, tokens: 2_000 }, latency: { jobs: 200, per: 5, seconds: 10 }, replay: { events: 10_000 },
      connections: { count: 10_000 }, ttft: { n: 50 }, broker: { jobs: 100, clients: 1_000 }, peer: { listeners: 100, chunks: 2_000 },
      reps: 3, clientProcs: 2 };
if (repsArg) SIZES.reps = Number(repsArg.slice(7));

const want = (name) => !only || only.includes(name);
const median = (xs) => {
  const s = [...xs].filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const log = (...a) => console.error(`[${((Date.now() - startedAt) / 1000).toFixed(1)}s]`, ...a);
function checkDeadline() {
  if (Date.now() - startedAt > DEADLINE_MS) throw new Error(`bench over its time budget (${DEADLINE_MS / 1000} s)`);
}

// ---------- jobstream API helpers ----------
async function http(api, method, path, body) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
const createJob = (api, input) => http(api, 'POST', '/v1/jobs', { agent: 'echo', input });
const cancelJob = (api, id) => http(api, 'POST', `/v1/jobs/${id}/cancel`, { reason: 'bench' }).catch(() => {});
async function waitStatus(api, id, statuses, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const j = await http(api, 'GET', `/v1/jobs/${id}`);
    if (statuses.includes(j.status)) return j;
    if (Date.now() > end) throw new Error(`job ${id} still ${j.status}`);
    await sleep(20);
  }
}
/** A job that holds a worker slot and then emits one token a minute (cancelled at the end of its scenario). */
const idleJob = (api) => createJob(api, { message: 'a b c d e f g h i j', delay_ms: 60_000 });

/** Waits until the clients' connections have all ended (the stream finished) or the timeout passes. */
async function waitEnded(clients, expected, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await clients.stats();
    if (s.ended >= expected) return s;
    if (Date.now() > end) {
      log(`  timeout: ${s.ended}/${expected} ended, ${s.tokens} tokens`);
      return s;
    }
    checkDeadline();
    await sleep(100);
  }
}
const rate = (s) => (s.last > s.first ? (s.tokens * 1000) / (s.last - s.first) : null);

// ---------- scenarios ----------

/** The real split path: a worker process (`npm run start:worker`) appends to JetStream; the API process serves SSE. */
async function startSplit(ctx, { concurrency, apiEnv = {}, nodeArgs = [] }) {
  const worker = await startWorker({ ...ctx, env: { WORKER_CONCURRENCY: String(concurrency) } });
  const api = await startApi({ ...ctx, env: { EMBEDDED_WORKER: 'false', ...EXTRA_API_ENV, ...apiEnv }, nodeArgs });
  api.worker = worker;
  const stop = api.stop;
  api.stop = async () => {
    await stop();
    await worker.stop();
  };
  return api;
}

/** One job, N clients, T tokens through worker → JetStream → API → SSE. A blocker job holds the single worker slot
 * while the clients connect, so every token is delivered live. */
async function jobstreamFanout(api, clients, n, tokens) {
  const blocker = await idleJob(api);
  await waitStatus(api, blocker.id, ['running']);
  const job = await createJob(api, { message: 'tok ', repeat: tokens });
  await clients.open(api.port, Array.from({ length: n }, () => `/v1/jobs/${job.id}/stream`));
  await cancelJob(api, blocker.id);
  const s = await waitEnded(clients, n, 180_000);
  await clients.close();
  if (s.tokens !== n * tokens) log(`  WARNING: jobstream delivered ${s.tokens}, expected ${n * tokens}`);
  return { deliveries_per_s: rate(s), delivered: s.tokens, expected: n * tokens, ms: s.last - s.first };
}

async function ceilingFanout(ceiling, clients, n, tokens) {
  await clients.open(ceiling.port, Array.from({ length: n }, () => '/stream'));
  await fetch(`${ceiling.url}/go?n=${tokens}`, { method: 'POST' });
  const s = await waitEnded(clients, n, 120_000);
  await clients.close();
  return { deliveries_per_s: rate(s), delivered: s.tokens, expected: n * tokens, ms: s.last - s.first };
}

async function peerFanout(peer, clients, n, chunks) {
  const id = `s${Date.now()}`;
  await fetch(`${peer.url}/create?id=${id}&n=${chunks}`, { method: 'POST' });
  await clients.open(peer.port, Array.from({ length: n }, () => `/stream?id=${id}`), 'count', 20);
  await sleep(200); // resumable-stream registers a listener asynchronously (request → producer) after the response opens
  await fetch(`${peer.url}/go`, { method: 'POST' });
  const s = await waitEnded(clients, n, 180_000);
  await clients.close();
  if (s.tokens !== n * chunks) log(`  WARNING: peer delivered ${s.tokens}, expected ${n * chunks}`);
  return { deliveries_per_s: rate(s), delivered: s.tokens, expected: n * chunks, ms: s.last - s.first };
}

async function scenarioFanout(ctx, results) {
  const { clients: n, tokens } = SIZES.fanout;
  log(`fan-out: 1 job × ${n} clients × ${tokens} tokens, ${SIZES.reps} rep(s)`);
  const ceiling = await startHelper('ceiling-server.mjs');
  const profDir = join(ROOT, 'bench', 'results', 'profiles');
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const api = await startSplit(ctx, { concurrency: 1, nodeArgs });
  const js = [];
  const raw = [];
  try {
    for (let r = 0; r < SIZES.reps; r++) {
      checkDeadline();
      const a = await jobstreamFanout(api, ctx.clients, n, tokens);
      const b = await ceilingFanout(ceiling, ctx.clients, n, tokens);
      log(`  rep ${r + 1}: jobstream ${round(a.deliveries_per_s)}/s (${a.delivered}/${a.expected}), node:http ${round(b.deliveries_per_s)}/s`);
      js.push(a.deliveries_per_s);
      raw.push(b.deliveries_per_s);
    }
  } finally {
    await api.stop();
    await ceiling.stop();
  }
  const d = median(js);
  const c = median(raw);
  results.fanout = { deliveries_per_s: round(d), raw_deliveries_per_s: round(c), ratio: round(d / c, 3), clients: n, tokens, runs: { jobstream: js.map((x) => round(x)), raw: raw.map((x) => round(x)) } };
  if (profile) {
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f));
    files.sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
    if (files[0]) {
      log(`profile: ${files[0]}`);
      console.log(summarize(files[0], 25));
    }
  }
}

async function scenarioLatency(ctx, results) {
  const { jobs, per, seconds } = SIZES.latency;
  const tokens = seconds * 50;
  log(`latency: ${jobs} jobs × ${per} clients, 50 tokens/s for ${seconds} s`);
  const api = await startSplit(ctx, { concurrency: jobs + 16 });
  try {
    const created = await Promise.all(Array.from({ length: jobs }, () => createJob(api, { message: 'tok ', repeat: tokens, delay_ms: 20 })));
    const paths = created.flatMap((j) => Array.from({ length: per }, () => `/v1/jobs/${j.id}/stream`));
    await ctx.clients.open(api.port, paths, 'latency', 50);
    const s = await waitEnded(ctx.clients, paths.length, seconds * 1000 + 60_000);
    await ctx.clients.close();
    const p = histPercentiles(s.hist);
    results.latency = { p50_ms: p.p50_ms, p99_ms: p.p99_ms, max_ms: p.max_ms, samples: p.n, jobs, clients: paths.length, tokens_per_job: tokens };
    log(`  p50 ${p.p50_ms} ms, p99 ${p.p99_ms} ms, max ${p.max_ms} ms over ${p.n} live deliveries`);
  } finally {
    await api.stop();
  }
}

async function replayOnce(api, jobId, events) {
  const stats = newStats();
  const t0 = Date.now();
  const ended = new Promise((resolve) => openSse({ port: api.port, path: `/v1/jobs/${jobId}/stream`, stats, onEnd: resolve }).catch(resolve));
  const t1 = await ended;
  if (stats.tokens !== events) log(`  WARNING: replay got ${stats.tokens}/${events}`);
  return (stats.tokens * 1000) / (t1 - t0);
}

async function rawReplayOnce(nc, jobId) {
  const js = nc.jetstream();
  const t0 = Date.now();
  const opts = consumerOpts().orderedConsumer();
  opts.deliverAll();
  const sub = await js.subscribe(`jobstream.events.${jobId}`, opts);
  let n = 0;
  for await (const m of sub) {
    n++;
    if (m.info.pending === 0) break;
  }
  sub.unsubscribe();
  return (n * 1000) / (Date.now() - t0);
}

async function scenarioReplay(ctx, results) {
  const { events } = SIZES.replay;
  log(`replay: finished job of ${events} tokens, ${SIZES.reps} rep(s)`);
  const api = await startSplit(ctx, { concurrency: 4 });
  const nc = await natsConnect({ servers: ctx.nats.url, name: 'bench-raw' });
  try {
    const job = await createJob(api, { message: 'tok ', repeat: events });
    await waitStatus(api, job.id, ['completed'], 120_000);
    const js = [];
    const raw = [];
    for (let r = 0; r < SIZES.reps; r++) {
      checkDeadline();
      js.push(await replayOnce(api, job.id, events));
      raw.push(await rawReplayOnce(nc, job.id));
      log(`  rep ${r + 1}: jobstream ${round(js.at(-1))} events/s, ordered consumer ${round(raw.at(-1))} events/s`);
    }
    const a = median(js);
    const b = median(raw);
    results.replay = { events_per_s: round(a), raw_events_per_s: round(b), ratio: round(a / b, 3), events, runs: { jobstream: js.map((x) => round(x)), raw: raw.map((x) => round(x)) } };
  } finally {
    await nc.close();
    await api.stop();
  }
}

async function scenarioConnections(ctx, results) {
  const { count } = SIZES.connections;
  const jobs = 10;
  const heartbeatMs = 1000;
  log(`connections: ${count} idle SSE connections over ${jobs} jobs, heartbeat ${heartbeatMs} ms`);
  const api = await startSplit(ctx, { concurrency: 32, apiEnv: { HEARTBEAT_MS: String(heartbeatMs) } });
  const clients = await startClients(4);
  try {
    const idle = await Promise.all(Array.from({ length: jobs }, () => idleJob(api)));
    for (const j of idle) await waitStatus(api, j.id, ['running']);
    // warm up the code paths (JIT, hub entries, pools) with a few connections, then take the baseline
    await clients.open(api.port, idle.map((j) => `/v1/jobs/${j.id}/stream`), 'idle');
    await sleep(1500);
    const before = rssKb(api.pid);
    const paths = Array.from({ length: count }, (_, i) => `/v1/jobs/${idle[i % jobs].id}/stream`);
    const t0 = Date.now();
    await clients.open(api.port, paths, 'idle', 100);
    const openMs = Date.now() - t0;
    await sleep(quick ? 1500 : 3000);
    const after = rssKb(api.pid);
    const window = quick ? 3000 : 10_000;
    const c0 = cpuMs(api.pid);
    const w0 = Date.now();
    await sleep(window);
    const cpu = ((cpuMs(api.pid) - c0) / (Date.now() - w0)) * 100;
    const s = await clients.stats();
    const rss2 = rssKb(api.pid);
    results.connections = {
      count,
      rss_per_connection_kb: round((after - before) / count, 1),
      rss_before_mb: round(before / 1024, 1),
      rss_after_mb: round(after / 1024, 1),
      rss_after_idle_mb: round(rss2 / 1024, 1),
      idle_cpu_percent: round(cpu, 1),
      heartbeat_ms: heartbeatMs,
      open_per_s: round((count * 1000) / openMs),
      still_open: s.opened - s.ended,
    };
    log(`  RSS ${round(before / 1024, 1)} → ${round(after / 1024, 1)} MiB (${results.connections.rss_per_connection_kb} KiB/conn), idle CPU ${round(cpu, 1)}% of a core, opened ${results.connections.open_per_s}/s`);
    await clients.close();
    for (const j of idle) await cancelJob(api, j.id);
  } finally {
    await clients.stop();
    await api.stop();
  }
}

/** A local OTLP/HTTP sink: accepts and drops every export (the cost measured is the processes', not a collector's). */
async function startOtlpSink() {
  const { createServer } = await import('node:http');
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/v1/traces`, exports: () => exports, close: () => new Promise((r) => server.close(r)) };
}

/**
 * Tracing overhead (opt-in: `--only=tracing`): the same split path with tracing off and on (OTLP/HTTP to a local
 * sink, both processes, every span sampled): fan-out deliveries/s, one job's append rate (one span per append in
 * the worker), and TTFT. Alternating off/on per rep.
 */
async function scenarioTracing(ctx, results) {
  const { clients: n, tokens } = SIZES.fanout;
  const appendTokens = quick ? 2_000 : 10_000;
  const sink = await startOtlpSink();
  const out = { off: { fanout: [], appends_per_s: [], ttft_ms: [] }, on: { fanout: [], appends_per_s: [], ttft_ms: [] } };
  try {
    for (let rep = 0; rep < SIZES.reps; rep++) {
      for (const mode of ['off', 'on']) {
        checkDeadline();
        const env = mode === 'on' ? { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sink.url } : {};
        const worker = await startWorker({ ...ctx, env: { WORKER_CONCURRENCY: '4', ...env } });
        const api = await startApi({ ...ctx, env: { EMBEDDED_WORKER: 'false', ...env } });
        try {
          log(`tracing ${mode} (rep ${rep + 1}): fan-out ${n} × ${tokens}, ${appendTokens} appends, TTFT`);
          out[mode].fanout.push((await jobstreamFanout(api, ctx.clients, n, tokens)).deliveries_per_s);
          const t0 = performance.now();
          const job = await createJob(api, { message: 'tok ', repeat: appendTokens });
          await waitStatus(api, job.id, ['completed'], 120_000);
          out[mode].appends_per_s.push((appendTokens * 1000) / (performance.now() - t0));
          const xs = [];
          for (let i = 0; i < 12; i++) {
            const t = performance.now();
            const j = await createJob(api, { message: 'hello world' });
            const stats = newStats();
            let sock;
            const first = await new Promise((resolve, reject) => {
              openSse({ port: api.port, path: `/v1/jobs/${j.id}/stream`, stats, onFirstToken: () => resolve(performance.now()) }).then((x) => (sock = x), reject);
            });
            sock?.destroy();
            if (i >= 2) xs.push(first - t);
          }
          out[mode].ttft_ms.push(median(xs));
        } finally {
          await api.stop();
          await worker.stop();
        }
      }
    }
  } finally {
    await sink.close();
  }
  const m = (mode, k, d = 0) => round(median(out[mode][k]), d);
  results.tracing = {
    fanout_off: m('off', 'fanout'),
    fanout_on: m('on', 'fanout'),
    appends_per_s_off: m('off', 'appends_per_s'),
    appends_per_s_on: m('on', 'appends_per_s'),
    ttft_p50_ms_off: m('off', 'ttft_ms', 1),
    ttft_p50_ms_on: m('on', 'ttft_ms', 1),
    otlp_exports: sink.exports(),
    reps: out,
  };
  log(`  tracing: ${JSON.stringify({ ...results.tracing, reps: undefined })}`);
}

async function scenarioTtft(ctx, results) {
  const { n } = SIZES.ttft;
  log(`ttft: ${n} sequential POST /v1/jobs → first token`);
  const api = await startSplit(ctx, { concurrency: 4 });
  try {
    const xs = [];
    for (let i = 0; i < n + 2; i++) {
      checkDeadline();
      const t0 = performance.now();
      const job = await createJob(api, { message: 'hello world', delay_ms: 0 });
      const stats = newStats();
      let sock;
      const first = await new Promise((resolve, reject) => {
        openSse({ port: api.port, path: `/v1/jobs/${job.id}/stream`, stats, onFirstToken: () => resolve(performance.now()) })
          .then((s) => (sock = s), reject);
      });
      sock?.destroy();
      if (i >= 2) xs.push(first - t0); // the first two warm up
    }
    xs.sort((a, b) => a - b);
    const q = (p) => xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)];
    results.ttft = { p50_ms: round(q(0.5), 1), p99_ms: round(q(0.99), 1), n: xs.length };
    log(`  p50 ${results.ttft.p50_ms} ms, p99 ${results.ttft.p99_ms} ms`);
  } finally {
    await api.stop();
  }
}

async function brokerCounts(nats) {
  const connz = await (await fetch(`${nats.monitorUrl}/connz?subs=1`)).json();
  const jsz = await (await fetch(`${nats.monitorUrl}/jsz?consumers=true`)).json();
  // Both jobstream processes (API and worker) name their connection "jobstream"; report the sum and each.
  const api = (connz.connections ?? []).filter((c) => c.name === 'jobstream');
  const per = api.map((c) => c.subscriptions_list?.length ?? c.subscriptions ?? 0);
  const subscriptions = per.reduce((a, b) => a + b, 0);
  let consumers = 0;
  for (const acc of jsz.account_details ?? []) for (const s of acc.stream_detail ?? []) consumers += s.consumer_detail?.length ?? 0;
  return { subscriptions, consumers, connections: api.length, per_connection: per };
}

async function scenarioBroker(ctx, results) {
  const { jobs, clients: n } = SIZES.broker;
  log(`broker: ${n} clients over ${jobs} jobs`);
  const api = await startSplit(ctx, { concurrency: jobs + 16 });
  try {
    const idle = await Promise.all(Array.from({ length: jobs }, () => idleJob(api)));
    for (const j of idle) await waitStatus(api, j.id, ['running']);
    const base = await brokerCounts(ctx.nats);
    await ctx.clients.open(api.port, Array.from({ length: n }, (_, i) => `/v1/jobs/${idle[i % jobs].id}/stream`), 'idle');
    await sleep(300);
    const c = await brokerCounts(ctx.nats);
    results.broker = { clients: n, jobs, subscriptions: c.subscriptions, consumers: c.consumers, subscriptions_without_clients: base.subscriptions, consumers_without_clients: base.consumers, subscriptions_per_connection: c.per_connection, nats_connections: c.connections };
    log(`  subscriptions ${base.subscriptions} → ${c.subscriptions} (per connection ${c.per_connection.join(', ')}), consumers ${base.consumers} → ${c.consumers}`);
    await ctx.clients.close();
    for (const j of idle) await cancelJob(api, j.id);
  } finally {
    await api.stop();
  }
}

async function scenarioPeer(ctx, results) {
  const { listeners, chunks } = SIZES.peer;
  log(`peer: resumable-stream vs jobstream, ${listeners} listeners × ${chunks} chunks, ${SIZES.reps} rep(s)`);
  const peer = await startHelper('peer-server.mjs', { REDIS_URL: ctx.redis.url });
  const api = await startSplit(ctx, { concurrency: 1 });
  const js = [];
  const rs = [];
  try {
    for (let r = 0; r < SIZES.reps; r++) {
      checkDeadline();
      const a = await jobstreamFanout(api, ctx.clients, listeners, chunks);
      const b = await peerFanout(peer, ctx.clients, listeners, chunks);
      log(`  rep ${r + 1}: jobstream ${round(a.deliveries_per_s)}/s, resumable-stream ${round(b.deliveries_per_s)}/s (${b.delivered}/${b.expected})`);
      js.push(a.deliveries_per_s);
      rs.push(b.deliveries_per_s);
    }
  } finally {
    await api.stop();
    await peer.stop();
  }
  const a = median(js);
  const b = median(rs);
  results.peer = { jobstream_deliveries_per_s: round(a), resumable_stream_deliveries_per_s: round(b), ratio: round(a / b, 2), listeners, chunks, runs: { jobstream: js.map((x) => round(x)), resumable_stream: rs.map((x) => round(x)) } };
}

function table(r) {
  const rows = [
    ['fan-out', 'deliveries/s', r.fanout?.deliveries_per_s, 'node:http ceiling', r.fanout?.raw_deliveries_per_s, r.fanout?.ratio],
    ['latency', 'p50 / p99 / max ms', r.latency && `${r.latency.p50_ms} / ${r.latency.p99_ms} / ${r.latency.max_ms}`, '', '', ''],
    ['replay', 'events/s', r.replay?.events_per_s, 'ordered consumer', r.replay?.raw_events_per_s, r.replay?.ratio],
    ['connections', 'RSS KiB/conn (count)', r.connections && `${r.connections.rss_per_connection_kb} (${r.connections.count})`, 'idle CPU %', r.connections?.idle_cpu_percent, ''],
    ['ttft', 'p50 / p99 ms', r.ttft && `${r.ttft.p50_ms} / ${r.ttft.p99_ms}`, '', '', ''],
    ['broker', 'subs / consumers', r.broker && `${r.broker.subscriptions} / ${r.broker.consumers}`, 'clients / jobs', r.broker && `${r.broker.clients} / ${r.broker.jobs}`, ''],
    ['tracing', 'fan-out off / on', r.tracing && `${r.tracing.fanout_off} / ${r.tracing.fanout_on}`, 'appends/s off / on', r.tracing && `${r.tracing.appends_per_s_off} / ${r.tracing.appends_per_s_on}`, r.tracing && `TTFT ${r.tracing.ttft_p50_ms_off} / ${r.tracing.ttft_p50_ms_on} ms`],
    ['peer', 'deliveries/s', r.peer?.jobstream_deliveries_per_s, 'resumable-stream', r.peer?.resumable_stream_deliveries_per_s, r.peer?.ratio],
  ];
  const head = ['scenario', 'jobstream', 'value', 'against', 'value', 'ratio'];
  const all = [head, ...rows.map((row) => row.map((c) => (c === undefined || c === null ? '—' : String(c))))];
  const w = head.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(all[0]), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...all.slice(1).map(line)].join('\n');
}

async function main() {
  const nats = await startNats();
  const redis = await startRedis();
  const clients = await startClients(SIZES.clientProcs);
  const ctx = { nats, redis, clients };
  const results = {};
  const scenarios = [
    ['fanout', scenarioFanout],
    ['latency', scenarioLatency],
    ['replay', scenarioReplay],
    ['connections', scenarioConnections],
    ['ttft', scenarioTtft],
    ['broker', scenarioBroker],
    ['peer', scenarioPeer],
    ['tracing', scenarioTracing], // opt-in: --only=tracing
  ];
  let failed = false;
  for (const [name, fn] of scenarios) {
    if (!want(name) || (name === 'tracing' && !only?.includes('tracing'))) continue;
    try {
      await fn(ctx, results);
    } catch (err) {
      failed = true;
      log(`${name} FAILED: ${err.stack ?? err}`);
      results[name] = { error: String(err.message ?? err) };
      await clients.close().catch(() => {});
    }
  }
  await clients.stop();
  const out = {
    ...results,
    meta: {
      mode: quick ? 'quick' : 'full',
      date: new Date().toISOString(),
      seconds: round((Date.now() - startedAt) / 1000, 1),
      node: process.version,
      cpus: `${os.cpus().length} × ${os.cpus()[0]?.model}`,
      memory_gb: round(os.totalmem() / 1024 ** 3, 1),
      sizes: SIZES,
      path: 'worker process (dist/src/worker/main.js) → JetStream → API process (no in-process worker) → SSE clients in 2–4 client processes',
    },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', quick ? 'quick.json' : 'latest.json');
  if (!only) writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  else writeFileSync(join(ROOT, 'bench', 'results', 'partial.json'), JSON.stringify(out, null, 2) + '\n');
  console.log(table(results));
  log(`done in ${out.meta.seconds} s${only ? '' : `; wrote ${file}`}`);
  await nats.stop();
  await redis.stop();
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
