/**
 * jobstream benchmarks: `npm run bench` (full) or `npm run bench -- --quick` (smaller sizes, 1 rep).
 * Options: --only=fanout,latency,...  --profile (run the API — and for latency and peer the worker — under `node --cpu-prof`
 *          with an event-loop delay histogram and GC counts, print a summary)
 *          --api-env=K=V (repeatable: extra environment of the API process, e.g. WEBHOOKS_ENABLED=false)
 *          --reps=N (repetitions of every scenario; medians are reported)
 *          --budget-scale=X (multiply every scenario's time budget, e.g. 2 on a very busy machine)
 *          --baseline=FILE (a results JSON printed as the "before" column; default: the committed
 *          bench/results/latest.json for a full run, bench/results/quick-baseline.json for a quick one)
 *
 * Every scenario has its own time budget (BUDGET_S): past it, the scenario stops at its next check or, if it is
 * stuck, its processes are killed and it is reported as failed, and the next scenario runs anyway.
 *
 * Everything runs on 127.0.0.1: a private nats-server + redis-server on free ports, the API in its own process
 * (`node dist/src/main.js`, EMBEDDED_WORKER=false) and a worker process, clients in separate processes.
 * Writes bench/results/latest.json (or quick.json) and prints a table. See bench/README.md for the method.
 */
import { writeFileSync, mkdirSync, readdirSync, statSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { openSse, newStats, histPercentiles, mergeHist } from './lib/sse-client.mjs';
import {
  ROOT,
  sleep,
  startNats,
  startRedis,
  startApi,
  startWorker,
  startHelper,
  startClients,
  rssKb,
  cpuMs,
  cpuSplitMs,
  scenarioScope,
  killScope,
} from './lib/procs.mjs';
import { summarize } from './profile-summary.mjs';
import { scenarioCapacity, capacityRow, CAPACITY_BUDGET_S } from './scenarios/capacity.mjs';
import { THROUGHPUT_BUDGET_S, scenarioThroughput } from './scenarios/throughput.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
/** `--coalesce`: the worker merges a fast job's tokens (COALESCE_TEXT_EVENTS, the product's default). Off by default
 * here: fan-out, replay, peer and latency measure the per-event path (one event per token, as resumable-stream's one
 * chunk per write); merged, a fast job's tokens arrive in a few frames and a rate over them says little. The
 * `throughput` scenario runs both. */
const coalesce = args.includes('--coalesce');
const profile = args.includes('--profile');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const repsArg = args.find((a) => a.startsWith('--reps='));
const baselineArg = args.find((a) => a.startsWith('--baseline='))?.slice(11);
const budgetScale = Number(args.find((a) => a.startsWith('--budget-scale='))?.slice(15) ?? 1);
/** `--apis=N`: N API processes behind the same NATS (and one worker); clients are split across them (deliverable 7). */
const APIS = Number(args.find((a) => a.startsWith('--apis='))?.slice(7) ?? 1);
/** `--out=FILE`: where a partial (`--only`) run writes its results (default bench/results/partial.json). */
const outArg = args.find((a) => a.startsWith('--out='))?.slice(6);
/** `--api-env=K=V` (repeatable): extra environment of the API process (e.g. WEBHOOKS_ENABLED=false to compare). */
const EXTRA_API_ENV = Object.fromEntries(
  args
    .filter((a) => a.startsWith('--api-env='))
    .map((a) => {
      const kv = a.slice('--api-env='.length);
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
);
const startedAt = Date.now();

const SIZES = quick
  ? {
      fanout: { clients: 200, tokens: 500 },
      latency: { jobs: 40, per: 5, seconds: 3 },
      replay: { events: 2_000 },
      connections: { count: 2_000 },
      ttft: { n: 15 },
      broker: { jobs: 20, clients: 200 },
      peer: { listeners: 50, chunks: 500 },
      chat: { jobs: 100, seconds: 3 },
      reps: 1,
      clientProcs: 2,
    }
  : {
      fanout: { clients: 1_000, tokens: 2_000 },
      latency: { jobs: 200, per: 5, seconds: 10 },
      replay: { events: 10_000 },
      connections: { count: 10_000 },
      ttft: { n: 50 },
      broker: { jobs: 100, clients: 1_000 },
      peer: { listeners: 100, chunks: 2_000 },
      chat: { jobs: 2_000, seconds: 6 },
      reps: 3,
      clientProcs: 2,
    };
if (repsArg) SIZES.reps = Number(repsArg.slice(7));

/** Time budget of each scenario, in seconds (all its reps, process start-up and shutdown included). Generous: a
 * budget is there so that one stuck or slow scenario cannot take the others down, not to cut normal runs. */
const BUDGET_S = quick
  ? { fanout: 60, latency: 45, replay: 40, connections: 75, ttft: 30, broker: 60, peer: 60, chat: 90, tracing: 180 }
  : {
      fanout: 300,
      latency: 240,
      replay: 90,
      connections: 600,
      ttft: 90,
      broker: 150,
      peer: 200,
      chat: 300,
      tracing: 600,
    };
BUDGET_S.capacity = quick ? CAPACITY_BUDGET_S.quick : CAPACITY_BUDGET_S.full;
BUDGET_S.throughput = THROUGHPUT_BUDGET_S[quick ? 'quick' : 'full'];
for (const k of Object.keys(BUDGET_S)) BUDGET_S[k] = Math.round(BUDGET_S[k] * budgetScale);
/** After its budget, a scenario gets this long to stop by itself (its next check throws) before it is killed. */
const GRACE_S = 15;

const want = (name) => !only || only.includes(name);
const median = (xs) => {
  const s = [...xs].filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 0) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d;
const log = (...a) => console.error(`[${((Date.now() - startedAt) / 1000).toFixed(1)}s]`, ...a);
/** Milliseconds left in the current scenario's budget (Infinity outside a scenario). */
const remaining = () => {
  const sc = scenarioScope.getStore();
  return sc ? sc.deadline - Date.now() : Infinity;
};
function checkDeadline() {
  const sc = scenarioScope.getStore();
  if (sc && Date.now() > sc.deadline)
    throw Object.assign(new Error(`${sc.name}: over its time budget (${sc.budgetS} s)`), { overBudget: true });
}
/**
 * Runs `fn` SIZES.reps times and returns the per-rep results. A rep is not started when the budget left is
 * smaller than the longest rep so far: the scenario then reports the reps it completed (`meta.scenarios.<name>.reps`)
 * instead of failing; with no rep completed it fails.
 */
async function reps(fn) {
  const out = [];
  let longest = 0;
  for (let r = 0; r < SIZES.reps; r++) {
    if (r > 0 && remaining() < longest) {
      log(
        `  budget: ${Math.round(remaining() / 1000)} s left, a rep takes ~${Math.round(longest / 1000)} s: stopping after ${r} rep(s)`,
      );
      break;
    }
    checkDeadline();
    const t0 = Date.now();
    try {
      out.push(await fn(r));
    } catch (err) {
      if (!err?.overBudget || out.length === 0) throw err;
      log(`  budget: rep ${r + 1} cut by the budget, keeping ${out.length} rep(s)`);
      break;
    }
    longest = Math.max(longest, Date.now() - t0);
  }
  const sc = scenarioScope.getStore();
  if (sc) sc.reps = out.length;
  return out;
}
/** The median of one numeric field over per-rep result objects. */
const med = (rs, key, d = 0) => round(median(rs.map((r) => r[key])), d);
const runsOf = (rs, key, d = 0) => rs.map((r) => round(r[key], d));

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
  const end = Date.now() + Math.min(timeoutMs, Math.max(0, remaining()));
  for (;;) {
    const s = await clients.stats();
    if (s.ended >= expected) return s;
    if (Date.now() > end) {
      log(`  timeout: ${s.ended}/${expected} ended, ${s.tokens} tokens`);
      checkDeadline(); // cut by the scenario's budget: the rep is void (not a result of 0)
      return s;
    }
    checkDeadline();
    await sleep(100);
  }
}
const rate = (s) => (s.last > s.first ? (s.tokens * 1000) / (s.last - s.first) : null);

// ---------- scenarios ----------

/** The real split path: a worker process (`npm run start:worker`) appends to JetStream; the API process serves SSE. */
async function startSplit(
  ctx,
  { concurrency, apiEnv = {}, nodeArgs = [], workerEnv = {}, workerNodeArgs = [], apis = 1 },
) {
  const worker = await startWorker({
    ...ctx,
    env: { WORKER_CONCURRENCY: String(concurrency), COALESCE_TEXT_EVENTS: String(coalesce), ...workerEnv },
    nodeArgs: workerNodeArgs,
  });
  const all = [];
  for (let i = 0; i < apis; i++)
    all.push(await startApi({ ...ctx, env: { EMBEDDED_WORKER: 'false', ...EXTRA_API_ENV, ...apiEnv }, nodeArgs }));
  // `api` is the first process (HTTP calls go there); `ports` / `pids` cover all of them (clients are split, CPU summed)
  const stops = all.map((a) => a.stop);
  const api = all[0];
  api.worker = worker;
  api.all = all;
  api.ports = all.map((a) => a.port);
  api.cpuMs = () => all.reduce((t, a) => t + cpuMs(a.pid), 0);
  api.stop = async () => {
    for (const stop of stops) await stop();
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
  await clients.open(
    api.ports ?? api.port,
    Array.from({ length: n }, () => `/v1/jobs/${job.id}/stream`),
  );
  await cancelJob(api, blocker.id);
  const s = await waitEnded(clients, n, 180_000);
  await clients.close();
  if (s.tokens !== n * tokens) log(`  WARNING: jobstream delivered ${s.tokens}, expected ${n * tokens}`);
  return { deliveries_per_s: rate(s), delivered: s.tokens, expected: n * tokens, ms: s.last - s.first };
}

async function ceilingFanout(ceiling, clients, n, tokens) {
  await clients.open(
    ceiling.port,
    Array.from({ length: n }, () => '/stream'),
  );
  await fetch(`${ceiling.url}/go?n=${tokens}`, { method: 'POST' });
  const s = await waitEnded(clients, n, 120_000);
  await clients.close();
  return { deliveries_per_s: rate(s), delivered: s.tokens, expected: n * tokens, ms: s.last - s.first };
}

/** The per-turn ceiling, fed by the worker through JetStream like the API: same blocker dance as jobstreamFanout,
 * but the clients connect to the ceiling server, which subscribes to the job's live subject itself. */
async function batchedCeilingFanout(api, ceiling, clients, n, tokens) {
  const blocker = await idleJob(api);
  await waitStatus(api, blocker.id, ['running']);
  const job = await createJob(api, { message: 'tok ', repeat: tokens });
  await clients.open(
    ceiling.port,
    Array.from({ length: n }, () => `/stream?job=${job.id}`),
  );
  await cancelJob(api, blocker.id);
  const s = await waitEnded(clients, n, 180_000);
  await clients.close();
  if (s.tokens !== n * tokens) log(`  WARNING: per-turn ceiling delivered ${s.tokens}, expected ${n * tokens}`);
  return { deliveries_per_s: rate(s), delivered: s.tokens, expected: n * tokens, ms: s.last - s.first };
}

async function peerFanout(peer, clients, n, chunks) {
  const id = `s${Date.now()}`;
  await fetch(`${peer.url}/create?id=${id}&n=${chunks}`, { method: 'POST' });
  await clients.open(
    peer.port,
    Array.from({ length: n }, () => `/stream?id=${id}`),
    'count',
    20,
  );
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
  const batched = await startHelper('ceiling-batched-server.mjs', { NATS_URL: ctx.nats.url });
  const profDir = join(ROOT, 'bench', 'results', 'profiles');
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const api = await startSplit(ctx, { concurrency: 1, nodeArgs, apis: APIS });
  let rs;
  try {
    rs = await reps(async (r) => {
      const a = await jobstreamFanout(api, ctx.clients, n, tokens);
      const b = await ceilingFanout(ceiling, ctx.clients, n, tokens);
      const c = await batchedCeilingFanout(api, batched, ctx.clients, n, tokens);
      log(
        `  rep ${r + 1}: jobstream ${round(a.deliveries_per_s)}/s (${a.delivered}/${a.expected}), naive ceiling ${round(b.deliveries_per_s)}/s, per-turn ceiling ${round(c.deliveries_per_s)}/s (${c.delivered}/${c.expected})`,
      );
      return {
        js: a.deliveries_per_s,
        raw: b.deliveries_per_s,
        batched: c.deliveries_per_s,
        ratio: a.deliveries_per_s / b.deliveries_per_s,
        batched_ratio: a.deliveries_per_s / c.deliveries_per_s,
      };
    });
  } finally {
    await api.stop();
    await ceiling.stop();
    await batched.stop();
  }
  results.fanout = {
    deliveries_per_s: med(rs, 'js'),
    raw_deliveries_per_s: med(rs, 'raw'),
    batched_deliveries_per_s: med(rs, 'batched'),
    // ratios per rep (same rep = same machine state), then the median
    ratio: med(rs, 'ratio', 3),
    batched_ratio: med(rs, 'batched_ratio', 3),
    clients: n,
    tokens,
    runs: { jobstream: runsOf(rs, 'js'), raw: runsOf(rs, 'raw'), batched: runsOf(rs, 'batched') },
  };
  if (profile) {
    const files = readdirSync(profDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(profDir, f));
    files.sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
    if (files[0]) {
      log(`profile: ${files[0]}`);
      console.log(summarize(files[0], 25));
    }
  }
}

async function latencyOnce(ctx, api) {
  const { jobs, per, seconds } = SIZES.latency;
  const tokens = seconds * 50;
  // CPU time (not wall time) per unit of work: far less sensitive to a busy machine than latencies
  const a0 = api.cpuMs();
  const w0 = cpuMs(api.worker.pid);
  const clientCpu = () => ctx.clients.procs.reduce((t, p) => t + cpuMs(p.pid), 0);
  const c0 = clientCpu();
  const t0 = Date.now();
  const created = await Promise.all(
    Array.from({ length: jobs }, () => createJob(api, { message: 'tok ', repeat: tokens, delay_ms: 20 })),
  );
  const paths = created.flatMap((j) => Array.from({ length: per }, () => `/v1/jobs/${j.id}/stream`));
  // on a saturated machine a few joins may be refused (503: a catch-up read timed out): measure the ones that opened
  const opened = await ctx.clients.open(api.ports, paths, 'latency', 50, 0.1);
  const s = await waitEnded(ctx.clients, opened, seconds * 1000 + 60_000);
  const apiCpu = api.cpuMs() - a0;
  const workerCpu = cpuMs(api.worker.pid) - w0;
  const wall = Date.now() - t0;
  const clientsCpu = clientCpu() - c0;
  await ctx.clients.close();
  return {
    ...histPercentiles(s.hist),
    hist: s.hist,
    refused: paths.length - opened,
    api_cpu_ms_per_1k_deliveries: (apiCpu * 1000) / s.tokens,
    worker_cpu_ms_per_1k_events: (workerCpu * 1000) / (jobs * tokens),
    // share of one core used over the rep (all 2 cores = 200 %): who is busy while latencies are measured
    // first → last token received: 10 s of tokens taking much longer means the path is over capacity (queues grow)
    delivery_s: (s.last - s.first) / 1000,
    cpu_percent: { api: (apiCpu / wall) * 100, worker: (workerCpu / wall) * 100, clients: (clientsCpu / wall) * 100 },
  };
}

/**
 * Deliverable 6: chat-like traffic. `jobs` concurrent echo jobs at 30 tokens/s for `seconds`, 1–3 clients each
 * (job i has 1 + i mod 3), every client streaming its job from the start; one client in four drops its connection
 * once (at a random moment of the job) and resumes 100–500 ms later with Last-Event-ID. Each client checks that it
 * got every seq from 1 to the terminal event exactly once across its connections. Latency as in the latency
 * scenario (live tokens only); API CPU per 1,000 delivered tokens (replayed ones after a resume included).
 */
/** POST /v1/jobs as a client does it: a 503 (store or broker overloaded) is retried after a pause, a few times. */
async function createRetrying(api, input) {
  for (let i = 0; ; i++) {
    try {
      return await createJob(api, input);
    } catch (err) {
      if (!/: 503 /.test(String(err?.message))) throw err;
      if (i >= 5) return null; // shed by the API under overload (503 + Retry-After): counted, the rep goes on
      await sleep(500 * (i + 1));
    }
  }
}

async function chatOnce(ctx, api, rnd) {
  const { jobs, seconds } = SIZES.chat;
  const tokens = seconds * 30;
  const a0 = api.cpuMs();
  const w0 = cpuMs(api.worker.pid);
  const t0 = Date.now();
  // A chat front end creates a job when a user sends a message and its 1–3 clients start streaming it at once:
  // jobs are created 50 at a time, and each batch's clients start as soon as its POSTs are answered.
  await ctx.clients.chatReset();
  // past `stopAt` the rep reports what it measured (clients still running count as not finished) instead of failing
  const stopAt = Date.now() + Math.max(20_000, remaining() - 25_000);
  const deadlineMs = stopAt - Date.now() - 5_000;
  let clients = 0;
  let created = 0;
  let createFailed = 0;
  for (let i = 0; i < jobs; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, jobs - i) }, () =>
        createRetrying(api, { message: 'tok ', repeat: tokens, delay_ms: 33 }),
      ),
    );
    createFailed += batch.filter((j) => j === null).length;
    const ok = batch.filter((j) => j !== null);
    created += ok.length;
    const specs = [];
    ok.forEach((j, k) => {
      for (let c = 0; c < 1 + ((i + k) % 3); c++) {
        const drop = rnd() < 0.25;
        specs.push({
          port: api.ports[clients % api.ports.length],
          resumePort: api.ports[(clients++ + 1) % api.ports.length], // with --apis=2 a resume goes to the other process
          path: `/v1/jobs/${j.id}/stream`,
          dropAfterMs: drop ? Math.round(300 + rnd() * seconds * 800) : null,
          pauseMs: Math.round(100 + rnd() * 400),
        });
      }
    });
    await ctx.clients.chat(specs, deadlineMs - (Date.now() - t0));
    if (Date.now() > stopAt - 30_000) break; // creating alone took the budget: measure the jobs created so far
  }
  const createS = (Date.now() - t0) / 1000;
  let s;
  for (;;) {
    s = await ctx.clients.chatStats();
    if (!s.running || Date.now() > stopAt) break;
    await sleep(250);
  }
  const apiCpu = api.cpuMs() - a0;
  const workerCpu = cpuMs(api.worker.pid) - w0;
  return {
    ...histPercentiles(s.hist),
    hist: s.hist,
    clients,
    finished: s.finished,
    exact: s.exact,
    gaps: s.gaps,
    dups: s.dups,
    drops: s.drops,
    resumes: s.resumes,
    failed: s.failed,
    errors: s.errors,
    tokens_delivered: s.tokens,
    api_cpu_ms_per_1k_tokens: (apiCpu * 1000) / s.tokens,
    worker_cpu_ms_per_1k_appends: (workerCpu * 1000) / (created * (tokens + 2)),
    create_s: createS,
    jobs_created: created,
    creates_refused: createFailed,
    unfinished: s.clients - s.finished - s.failed,
    wall_s: (Date.now() - t0) / 1000,
  };
}

async function scenarioChat(ctx, results) {
  const { jobs, seconds } = SIZES.chat;
  log(
    `chat: ${jobs} jobs × 30 tokens/s for ${seconds} s, 1–3 clients each, 1 in 4 drops and resumes, ${APIS} API process(es), ${SIZES.reps} rep(s)`,
  );
  const api = await startSplit(ctx, { concurrency: jobs + 16, apis: APIS });
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let rs;
  try {
    rs = await reps(async (r) => {
      const c = await chatOnce(ctx, api, rnd);
      log(
        `  rep ${r + 1}: ${c.jobs_created} jobs (${c.creates_refused} creates refused with 503 after 6 tries), ${c.clients} clients, ${c.exact}/${c.clients} exact, ${c.unfinished} unfinished at the budget's end (gaps ${c.gaps}, dups ${c.dups}, failed ${c.failed}), ${c.drops} drops / ${c.resumes} resumes; p50 ${c.p50_ms} ms, p99 ${c.p99_ms} ms, max ${c.max_ms} ms over ${c.n} live tokens; API ${round(c.api_cpu_ms_per_1k_tokens, 1)} ms CPU / 1k delivered tokens, worker ${round(c.worker_cpu_ms_per_1k_appends, 1)} ms / 1k appends; ${round(c.wall_s, 1)} s (creating the jobs: ${round(c.create_s, 1)} s)${c.errors.length ? `; errors: ${c.errors.join(' | ')}` : ''}`,
      );
      return c;
    });
  } finally {
    await api.stop();
  }
  results.chat = {
    jobs,
    seconds,
    tokens_per_s: 30,
    apis: APIS,
    clients: rs[0].clients,
    exact: Math.min(...rs.map((r) => r.exact)),
    gaps: Math.max(...rs.map((r) => r.gaps)),
    dups: Math.max(...rs.map((r) => r.dups)),
    failed: Math.max(...rs.map((r) => r.failed)),
    drops: med(rs, 'drops'),
    resumes: med(rs, 'resumes'),
    jobs_created: Math.min(...rs.map((r) => r.jobs_created)),
    creates_refused: Math.max(...rs.map((r) => r.creates_refused)),
    unfinished: Math.max(...rs.map((r) => r.unfinished)),
    p50_ms: med(rs, 'p50_ms'),
    p99_ms: med(rs, 'p99_ms'),
    max_ms: med(rs, 'max_ms'),
    samples: med(rs, 'n'),
    api_cpu_ms_per_1k_tokens: med(rs, 'api_cpu_ms_per_1k_tokens', 1),
    worker_cpu_ms_per_1k_appends: med(rs, 'worker_cpu_ms_per_1k_appends', 1),
    tokens_delivered: med(rs, 'tokens_delivered'),
    wall_s: med(rs, 'wall_s', 1),
    runs: {
      p50_ms: runsOf(rs, 'p50_ms'),
      p99_ms: runsOf(rs, 'p99_ms'),
      exact: runsOf(rs, 'exact'),
      errors: rs.map((r) => r.errors),
    },
  };
}

/** `--profile`: node flags + env so the API and the worker write a CPU profile and a probe summary (loop delay, GC). */
function profileArgs(name) {
  const dir = join(ROOT, 'bench', 'results', 'profiles', `${name}-${Date.now()}`);
  mkdirSync(join(dir, 'api'), { recursive: true });
  mkdirSync(join(dir, 'worker'), { recursive: true });
  const flags = (who) => [
    '--cpu-prof',
    `--cpu-prof-dir=${join(dir, who)}`,
    '--import',
    join(ROOT, 'bench', 'lib', 'probe.mjs'),
  ];
  return {
    dir,
    opts: {
      nodeArgs: flags('api'),
      apiEnv: { PROBE_OUT: join(dir, 'api', 'probe.json') },
      workerNodeArgs: flags('worker'),
      workerEnv: { PROBE_OUT: join(dir, 'worker', 'probe.json') },
    },
  };
}

/** Prints the top frames of each profiled process and returns the probes' summaries. */
function reportProfiles(probe) {
  const out = {};
  for (const who of ['api', 'worker']) {
    const d = join(probe.dir, who);
    const prof = readdirSync(d)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(d, f));
    if (prof[0]) console.log(`== ${who} ==\n${summarize(prof[0], 25)}`);
    const pj = join(d, 'probe.json');
    if (existsSync(pj)) {
      out[who] = JSON.parse(readFileSync(pj, 'utf8'));
      console.log(`== ${who} probe ==\n${JSON.stringify(out[who], null, 1)}`);
    }
  }
  log(`profiles in ${probe.dir}`);
  return out;
}

async function scenarioLatency(ctx, results) {
  const { jobs, per, seconds } = SIZES.latency;
  log(
    `latency: ${jobs} jobs × ${per} clients, 50 tokens/s for ${seconds} s, ${SIZES.reps} rep(s)${profile ? ', profiled' : ''}`,
  );
  const probe = profile ? profileArgs('latency') : null;
  const api = await startSplit(ctx, { concurrency: jobs + 16, ...(probe?.opts ?? {}), apis: APIS });
  let rs;
  try {
    rs = await reps(async (r) => {
      const p = await latencyOnce(ctx, api);
      log(
        `  rep ${r + 1}: p50 ${p.p50_ms} ms, p99 ${p.p99_ms} ms, max ${p.max_ms} ms over ${p.n} live deliveries; CPU: API ${round(p.api_cpu_ms_per_1k_deliveries, 1)} ms / 1k deliveries, worker ${round(p.worker_cpu_ms_per_1k_events, 1)} ms / 1k appends; ${seconds} s of tokens delivered over ${round(p.delivery_s, 1)} s; % of a core: API ${round(p.cpu_percent.api)}, worker ${round(p.cpu_percent.worker)}, clients ${round(p.cpu_percent.clients)}`,
      );
      return p;
    });
  } finally {
    await api.stop();
  }
  let all = null;
  for (const r of rs) all = mergeHist(all, r.hist);
  const pooled = histPercentiles(all);
  results.latency = {
    p50_ms: med(rs, 'p50_ms'),
    p99_ms: med(rs, 'p99_ms'),
    max_ms: med(rs, 'max_ms'),
    samples: med(rs, 'n'),
    api_cpu_ms_per_1k_deliveries: med(rs, 'api_cpu_ms_per_1k_deliveries', 1),
    worker_cpu_ms_per_1k_events: med(rs, 'worker_cpu_ms_per_1k_events', 1),
    delivery_s: med(rs, 'delivery_s', 1),
    refused_joins: Math.max(...rs.map((r) => r.refused)),
    cpu_percent: {
      api: round(median(rs.map((r) => r.cpu_percent.api))),
      worker: round(median(rs.map((r) => r.cpu_percent.worker))),
      clients: round(median(rs.map((r) => r.cpu_percent.clients))),
    },
    pooled: { p50_ms: pooled.p50_ms, p99_ms: pooled.p99_ms, max_ms: pooled.max_ms, samples: pooled.n },
    runs: { p50_ms: runsOf(rs, 'p50_ms'), p99_ms: runsOf(rs, 'p99_ms'), max_ms: runsOf(rs, 'max_ms') },
    jobs,
    clients: jobs * per,
    tokens_per_job: seconds * 50,
  };
  if (probe) results.latency.profile = reportProfiles(probe);
}

async function replayOnce(api, jobId, events) {
  const stats = newStats();
  const c0 = cpuMs(api.pid);
  const t0 = Date.now();
  const ended = new Promise((resolve) =>
    openSse({ port: api.port, path: `/v1/jobs/${jobId}/stream`, stats, onEnd: resolve }).catch(resolve),
  );
  const t1 = await ended;
  if (stats.tokens !== events) log(`  WARNING: replay got ${stats.tokens}/${events}`);
  // CPU time of the API process per 1,000 replayed events: the figure that survives a busy machine
  replayCpu.push(((cpuMs(api.pid) - c0) * 1000) / Math.max(1, stats.tokens));
  return (stats.tokens * 1000) / (t1 - t0);
}
const replayCpu = [];

async function rawReplayOnce(nc, jobId) {
  const t0 = Date.now();
  // nats.js v3's ordered consumer (one filter subject: nats-server 2.9), read from the start
  const c = await jetstream(nc).consumers.get('JOBSTREAM_EVENTS', { filter_subjects: `jobstream.events.${jobId}` });
  const sub = await c.consume();
  let n = 0;
  for await (const m of sub) {
    n++;
    if (m.info.pending === 0) break;
  }
  const rate = (n * 1000) / (Date.now() - t0);
  await sub.close();
  await c.delete().catch(() => {}); // (an ordered consumer otherwise stays on the server for 5 min)
  return rate;
}

async function scenarioReplay(ctx, results) {
  const { events } = SIZES.replay;
  log(`replay: finished job of ${events} tokens, ${SIZES.reps} rep(s)${profile ? ', profiled' : ''}`);
  const probe = profile ? profileArgs('replay') : null;
  const api = await startSplit(ctx, { concurrency: 4, nodeArgs: probe?.opts.nodeArgs, apiEnv: probe?.opts.apiEnv });
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
      log(
        `  rep ${r + 1}: jobstream ${round(js.at(-1))} events/s (API CPU ${round(replayCpu.at(-1), 1)} ms per 1k events), ordered consumer ${round(raw.at(-1))} events/s`,
      );
    }
    const a = median(js);
    const b = median(raw);
    results.replay = {
      events_per_s: round(a),
      raw_events_per_s: round(b),
      ratio: round(a / b, 3),
      events,
      ratios_per_rep: js.map((x, i) => round(x / raw[i], 3)),
      api_cpu_ms_per_1k_events: round(median(replayCpu), 1),
      runs: {
        jobstream: js.map((x) => round(x)),
        raw: raw.map((x) => round(x)),
        api_cpu_ms_per_1k_events: replayCpu.map((x) => round(x, 1)),
      },
    };
  } finally {
    await nc.close();
    await api.stop();
  }
  if (probe) results.replay.profile = reportProfiles(probe);
}

/** CPU time of `pid` over the next `ms` (wall), in % of one core. */
async function cpuOver(pid, ms) {
  const c0 = cpuMs(pid);
  const w0 = Date.now();
  await sleep(ms);
  return ((cpuMs(pid) - c0) / (Date.now() - w0)) * 100;
}
/** Monotonic clock in µs, the clock of a V8 .cpuprofile's timestamps (profile-summary.mjs `window`). */
const monoUs = () => Number(process.hrtime.bigint() / 1000n);
/** `/proc/<pid>/smaps_rollup` fields in KiB (Rss, Anonymous, …). */
function smapsKb(pid) {
  try {
    const out = {};
    for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB/gm))
      out[m[1]] = Number(m[2]);
    return out;
  } catch {
    return null;
  }
}

/**
 * The idle cost of `opened` connections on process `pid` (RSS `before` they opened), read two ways:
 * - burst (the reading up to issue 15 round 2, kept for comparison): RSS 3 s after the burst of openings, CPU over
 *   the next 10 s — includes the burst's uncollected garbage, young-generation growth and GC aftermath;
 * - steady: consecutive 2 s windows until RSS is within 1 % and CPU within 15 % (or 1 point) of the previous window
 *   (at most 40 s; `steady: false` says the bound was hit), then CPU over 10 s and RSS at its end.
 */
async function measureIdle(pid, before, beforeGc, opened) {
  const settleMs = quick ? 1500 : 3000;
  const windowMs = quick ? 3000 : 10_000;
  const maxWaitMs = quick ? 12_000 : 40_000;
  await sleep(settleMs);
  const burstRss = rssKb(pid);
  const burstCpu = await cpuOver(pid, windowMs);
  const t0 = Date.now();
  const trace = [];
  let prev = null;
  let steady = false;
  while (Date.now() - t0 < maxWaitMs) {
    checkDeadline();
    const cpu = await cpuOver(pid, 2000);
    const rss = rssKb(pid);
    trace.push([round(rss / 1024, 1), round(cpu, 1)]);
    if (
      prev &&
      Math.abs(rss - prev.rss) <= 0.01 * prev.rss &&
      Math.abs(cpu - prev.cpu) <= Math.max(0.15 * prev.cpu, 1)
    ) {
      steady = true;
      break;
    }
    prev = { rss, cpu };
  }
  const waitedMs = Date.now() - t0;
  const from = monoUs();
  const s0 = cpuSplitMs(pid);
  const cpu = await cpuOver(pid, windowMs);
  const s1 = cpuSplitMs(pid);
  const to = monoUs();
  const rss = rssKb(pid);
  const wallMs = (to - from) / 1000;
  // 3. after a compacting full GC (bench/lib/gc-signal.mjs): what the open connections themselves hold
  const gcRss = await rssAfterGc(pid);
  return {
    rss_per_connection_kb: (rss - before) / opened,
    cpu,
    gc_rss_per_connection_kb: (gcRss - beforeGc) / opened,
    gc_rss: gcRss,
    cpu_user: ((s1[0] - s0[0]) / wallMs) * 100,
    cpu_sys: ((s1[1] - s0[1]) / wallMs) * 100,
    burst_rss_per_connection_kb: (burstRss - before) / opened,
    burst_cpu: burstCpu,
    before,
    before_gc: beforeGc,
    burst_rss: burstRss,
    rss,
    steady,
    steady_wait_s: waitedMs / 1000,
    trace,
    smaps: smapsKb(pid),
    window_us: [from, to],
  };
}

async function connectionsOnce(ctx, r) {
  const { count } = SIZES.connections;
  const jobs = 10;
  const heartbeatMs = 1000;
  const probe = profile ? profileArgs(`connections-${r + 1}`) : null;
  const api = await startSplit(ctx, {
    concurrency: 32,
    apiEnv: { HEARTBEAT_MS: String(heartbeatMs), ...probe?.opts.apiEnv },
    nodeArgs: [...GC_HOOK, ...(probe?.opts.nodeArgs ?? [])],
  });
  const clients = await startClients(4);
  let out;
  try {
    const idle = await Promise.all(Array.from({ length: jobs }, () => idleJob(api)));
    for (const j of idle) await waitStatus(api, j.id, ['running']);
    // warm up the code paths (JIT, hub entries, pools) with a few connections, then take the baseline
    await clients.open(
      api.port,
      idle.map((j) => `/v1/jobs/${j.id}/stream`),
      'idle',
    );
    await sleep(1500);
    const before = rssKb(api.pid);
    const beforeGc = await rssAfterGc(api.pid);
    const paths = Array.from({ length: count }, (_, i) => `/v1/jobs/${idle[i % jobs].id}/stream`);
    const t0 = Date.now();
    // on a saturated machine a few joins may be refused (503 from a slow catch-up read): measure what opened
    const opened = await clients.open(api.port, paths, 'idle', 100, 0.01);
    const openMs = Date.now() - t0;
    const m = await measureIdle(api.pid, before, beforeGc, opened);
    const s = await clients.stats();
    await clients.close();
    for (const j of idle) await cancelJob(api, j.id);
    out = {
      ...m,
      open_per_s: (opened * 1000) / openMs,
      still_open: s.opened - s.ended,
      refused: count - opened,
    };
  } finally {
    await clients.stop();
    await api.stop();
  }
  if (probe) {
    const d = join(probe.dir, 'api');
    const prof = readdirSync(d).find((f) => f.endsWith('.cpuprofile'));
    if (prof) console.log(`== API, steady idle window ==\n${summarize(join(d, prof), 30, out.window_us)}`);
    log(`profiles in ${probe.dir}`);
  }
  out.reference = await referenceIdleOnce(count);
  return out;
}

/** RSS of `pid` after a compacting full GC (bench/lib/gc-signal.mjs), once the RSS stops moving (≤ 3 s). */
async function rssAfterGc(pid) {
  process.kill(pid, 'SIGWINCH');
  let last = rssKb(pid);
  for (let i = 0; i < 6; i++) {
    await sleep(500);
    const now = rssKb(pid);
    if (i > 0 && Math.abs(now - last) < 256) return now;
    last = now;
  }
  return last;
}

/** Node flags of the processes measured by the connections scenario: a compacting GC on SIGWINCH (bench only). */
const GC_HOOK = ['--expose-gc', '--import', join(ROOT, 'bench', 'lib', 'gc-signal.mjs')];

/** The same measurement on the bare `node:http` keepalive server (bench/keepalive-server.mjs), same clients/count. */
async function referenceIdleOnce(count) {
  // same write pattern as the SSE writer's heartbeat scheduler: 10 ticks per interval, each a tenth of the streams
  const ref = await startHelper('keepalive-server.mjs', { HEARTBEAT_MS: '1000', SLICES: '10' }, GC_HOOK);
  const clients = await startClients(4);
  try {
    await clients.open(
      ref.port,
      Array.from({ length: 10 }, () => '/stream'),
      'idle',
    );
    await sleep(1500);
    const before = rssKb(ref.pid);
    const beforeGc = await rssAfterGc(ref.pid);
    const t0 = Date.now();
    const opened = await clients.open(
      ref.port,
      Array.from({ length: count }, () => '/stream'),
      'idle',
      100,
      0.01,
    );
    const openMs = Date.now() - t0;
    const m = await measureIdle(ref.pid, before, beforeGc, opened);
    await clients.close();
    return { ...m, open_per_s: (opened * 1000) / openMs };
  } finally {
    await clients.stop();
    await ref.stop();
  }
}

async function scenarioConnections(ctx, results) {
  const { count } = SIZES.connections;
  log(
    `connections: ${count} idle SSE connections over 10 jobs, heartbeat 1000 ms, ${SIZES.reps} rep(s) (fresh API each; then the bare node:http reference)`,
  );
  const rs = await reps(async (r) => {
    const c = await connectionsOnce(ctx, r);
    const f = (x) =>
      `RSS ${round(x.rss_per_connection_kb, 1)} KiB/conn (${round(x.gc_rss_per_connection_kb, 1)} after a full GC), CPU ${round(x.cpu, 1)}% [user ${round(x.cpu_user, 1)} sys ${round(x.cpu_sys, 1)}] (burst reading ${round(x.burst_rss_per_connection_kb, 1)} KiB, ${round(x.burst_cpu, 1)}%; steady ${x.steady ? 'after' : 'NOT reached in'} ${round(x.steady_wait_s, 1)} s)`;
    log(`  rep ${r + 1}: API ${f(c)}, opened ${round(c.open_per_s)}/s`);
    log(`         bare node:http ${f(c.reference)}; load ${os.loadavg()[0].toFixed(1)}`);
    c.ref_rss = c.reference.rss_per_connection_kb;
    c.ref_cpu = c.reference.cpu;
    c.cpu_ratio = c.cpu / c.reference.cpu;
    c.load = os.loadavg()[0];
    return c;
  });
  const pick = (rs, f) => rs.map((r) => f(r));
  results.connections = {
    count,
    heartbeat_ms: 1000,
    method:
      'steady: RSS and CPU after consecutive 2 s windows agree (RSS 1 %, CPU 15 % or 1 point), CPU over 10 s, RSS at its end; gc: RSS after a compacting full GC (bench/lib/gc-signal.mjs); burst: RSS 3 s after opening, CPU over the next 10 s (the reading before)',
    rss_per_connection_kb: med(rs, 'rss_per_connection_kb', 1),
    idle_cpu_percent: med(rs, 'cpu', 1),
    gc_rss_per_connection_kb: med(rs, 'gc_rss_per_connection_kb', 1),
    burst_rss_per_connection_kb: med(rs, 'burst_rss_per_connection_kb', 1),
    burst_idle_cpu_percent: med(rs, 'burst_cpu', 1),
    steady_reached: rs.filter((r) => r.steady).length,
    reference: {
      what: 'bare node:http SSE server, one shared timer (10 ticks per interval, a tenth of the streams each), pre-built keepalive chunk to the socket (bench/keepalive-server.mjs)',
      rss_per_connection_kb: round(median(pick(rs, (r) => r.reference.rss_per_connection_kb)), 1),
      gc_rss_per_connection_kb: round(median(pick(rs, (r) => r.reference.gc_rss_per_connection_kb)), 1),
      idle_cpu_percent: round(median(pick(rs, (r) => r.reference.cpu)), 1),
      burst_rss_per_connection_kb: round(median(pick(rs, (r) => r.reference.burst_rss_per_connection_kb)), 1),
      burst_idle_cpu_percent: round(median(pick(rs, (r) => r.reference.burst_cpu)), 1),
    },
    cpu_ratio_to_reference: med(rs, 'cpu_ratio', 2),
    rss_before_mb: round(median(rs.map((r) => r.before)) / 1024, 1),
    rss_after_mb: round(median(rs.map((r) => r.rss)) / 1024, 1),
    open_per_s: med(rs, 'open_per_s'),
    still_open: Math.min(...rs.map((r) => r.still_open)),
    refused: Math.max(...rs.map((r) => r.refused)),
    runs: {
      rss_per_connection_kb: runsOf(rs, 'rss_per_connection_kb', 1),
      idle_cpu_percent: runsOf(rs, 'cpu', 1),
      idle_cpu_user_sys: rs.map((r) => [round(r.cpu_user, 1), round(r.cpu_sys, 1)]),
      reference_idle_cpu_user_sys: rs.map((r) => [round(r.reference.cpu_user, 1), round(r.reference.cpu_sys, 1)]),
      gc_rss_per_connection_kb: runsOf(rs, 'gc_rss_per_connection_kb', 1),
      reference_gc_rss_per_connection_kb: pick(rs, (r) => round(r.reference.gc_rss_per_connection_kb, 1)),
      burst_rss_per_connection_kb: runsOf(rs, 'burst_rss_per_connection_kb', 1),
      burst_idle_cpu_percent: runsOf(rs, 'burst_cpu', 1),
      steady_wait_s: runsOf(rs, 'steady_wait_s', 1),
      reference_rss_per_connection_kb: pick(rs, (r) => round(r.reference.rss_per_connection_kb, 1)),
      reference_idle_cpu_percent: pick(rs, (r) => round(r.reference.cpu, 1)),
      load: runsOf(rs, 'load', 1),
      trace: pick(rs, (r) => r.trace),
      reference_trace: pick(rs, (r) => r.reference.trace),
      smaps_kb: pick(rs, (r) => r.smaps && { Rss: r.smaps.Rss, Anonymous: r.smaps.Anonymous }),
    },
  };
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
  return {
    url: `http://127.0.0.1:${server.address().port}/v1/traces`,
    exports: () => exports,
    close: () => new Promise((r) => server.close(r)),
  };
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
  const out = {
    off: { fanout: [], appends_per_s: [], ttft_ms: [] },
    on: { fanout: [], appends_per_s: [], ttft_ms: [] },
  };
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
              openSse({
                port: api.port,
                path: `/v1/jobs/${j.id}/stream`,
                stats,
                onFirstToken: () => resolve(performance.now()),
              }).then((x) => (sock = x), reject);
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

/**
 * TTFT with a breakdown from the events' own timestamps (ms resolution, same clock): POST start → `status: queued`
 * appended (API: Redis record + append) → POST answered → SSE response open → `status: running` appended (worker:
 * pick-up, store, append) → first token appended → first token received (republish → API → SSE).
 */
async function scenarioTtft(ctx, results) {
  const { n } = SIZES.ttft;
  log(`ttft: ${n} sequential POST /v1/jobs → first token, ${SIZES.reps} rep(s)`);
  const api = await startSplit(ctx, { concurrency: 4 });
  const parts = { post: [], queued: [], sse_open: [], running: [], first_token_appended: [], delivered: [] };
  try {
    const rs = await reps(async (r) => {
      const xs = [];
      for (let i = 0; i < n + 2; i++) {
        checkDeadline();
        const w0 = Date.now();
        const t0 = performance.now();
        const job = await createJob(api, { message: 'hello world', delay_ms: 0 });
        const posted = Date.now();
        const stats = newStats();
        let sock;
        let opened = 0;
        const first = await new Promise((resolve, reject) => {
          openSse({
            port: api.port,
            path: `/v1/jobs/${job.id}/stream`,
            stats,
            mode: 'latency',
            onFirstToken: (now, ts) => resolve({ at: performance.now(), now, ts }),
            onEnd: () => reject(new Error(`stream of ${job.id} ended without a token`)), // never hang the scenario
          }).then((s) => {
            sock = s;
            opened = Date.now();
          }, reject);
        });
        sock?.destroy();
        if (i >= 2) {
          xs.push(first.at - t0); // the first two warm up
          const evs = (await http(api, 'GET', `/v1/jobs/${job.id}/events?after=0&limit=5`)).events ?? [];
          const tsOf = (pred) => Date.parse(evs.find(pred)?.ts ?? '') - w0;
          parts.post.push(posted - w0);
          parts.queued.push(tsOf((e) => e.type === 'status' && e.status === 'queued'));
          parts.sse_open.push((opened || first.now) - w0);
          parts.running.push(tsOf((e) => e.type === 'status' && e.status === 'running'));
          parts.first_token_appended.push(first.ts - w0);
          parts.delivered.push(first.now - w0);
        }
      }
      xs.sort((a, b) => a - b);
      const q = (p) => xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)];
      log(`  rep ${r + 1}: p50 ${round(q(0.5), 1)} ms, p99 ${round(q(0.99), 1)} ms`);
      return { p50_ms: q(0.5), p99_ms: q(0.99) };
    });
    // medians of each step's time since the POST started (ms; events' ts have 1 ms resolution)
    const breakdown = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, median(v)]));
    log(`  breakdown (median ms after POST start): ${JSON.stringify(breakdown)}`);
    results.ttft = {
      p50_ms: med(rs, 'p50_ms', 1),
      p99_ms: med(rs, 'p99_ms', 1),
      n,
      breakdown_ms: breakdown,
      runs: { p50_ms: runsOf(rs, 'p50_ms', 1), p99_ms: runsOf(rs, 'p99_ms', 1) },
    };
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
  for (const acc of jsz.account_details ?? [])
    for (const s of acc.stream_detail ?? []) consumers += s.consumer_detail?.length ?? 0;
  return { subscriptions, consumers, connections: api.length, per_connection: per };
}

/** Consumers on the server now (`/jsz?consumers=true`), for polling during joins. */
async function consumerCount(nats) {
  const jsz = await (await fetch(`${nats.monitorUrl}/jsz?consumers=true`)).json();
  let n = 0;
  for (const acc of jsz.account_details ?? [])
    for (const s of acc.stream_detail ?? []) n += s.consumer_detail?.length ?? 0;
  return n;
}

/** Waits until every job's record reports an event with seq >= `seq`. */
async function waitSeq(api, ids, seq, timeoutMs = 60_000) {
  const end = Date.now() + Math.min(timeoutMs, Math.max(0, remaining()));
  for (const id of ids) {
    for (;;) {
      const j = await http(api, 'GET', `/v1/jobs/${id}`);
      if (Number(String(j.last_event_id ?? '0').split('-')[0]) >= seq) break;
      if (Date.now() > end) throw new Error(`job ${id} has not reached seq ${seq}`);
      await sleep(50);
    }
  }
}

/**
 * Broker footprint of clients joining LIVE jobs: `jobs` echo jobs of 400 tokens at 20 tokens/s, each watched from its
 * start by one client (whoever created it, as an app would); once every job is past seq 100 (more events than a
 * replay reads with direct gets), `clients` more clients join them from the start. `/jsz` is polled while they join
 * and replay: the peak number of consumers above the count before the joins = transient consumers created for joins.
 */
async function scenarioBroker(ctx, results) {
  const { jobs, clients: n } = SIZES.broker;
  log(`broker: ${n} clients joining ${jobs} live jobs, ${SIZES.reps} rep(s)`);
  const api = await startSplit(ctx, { concurrency: jobs + 16 });
  const message = Array.from({ length: 400 }, (_, i) => `w${i} `).join('');
  try {
    const rs = await reps(async (r) => {
      const live = await Promise.all(Array.from({ length: jobs }, () => createJob(api, { message, delay_ms: 50 })));
      await ctx.clients.open(
        api.port,
        live.map((j) => `/v1/jobs/${j.id}/stream`),
        'count',
      );
      log(`  rep ${r + 1}: ${jobs} live jobs, one watcher each; waiting for seq 100`);
      await waitSeq(
        api,
        live.map((j) => j.id),
        100,
      );
      log(`  rep ${r + 1}: joining ${n} clients`);
      const base = await brokerCounts(ctx.nats);
      let peak = base.consumers;
      let polls = 0;
      let polling = true;
      const poller = (async () => {
        while (polling && remaining() > 0) {
          try {
            peak = Math.max(peak, await consumerCount(ctx.nats));
            polls++;
          } catch {
            await sleep(20); // the monitoring port did not answer this time (busy machine)
          }
        }
      })();
      const before = (await ctx.clients.stats()).tokens;
      const t0 = Date.now();
      // a busy machine may refuse a few joins with 503 (tolerated up to 1 %, as in the connections scenario)
      await ctx.clients.open(
        api.port,
        Array.from({ length: n }, (_, i) => `/v1/jobs/${live[i % jobs].id}/stream`),
        'count',
        50,
        0.01,
      );
      // the joiners' replays: each gets >= 100 tokens at once; wait for them (bounded), polling all along
      const want = before + n * 95;
      while ((await ctx.clients.stats()).tokens < want && Date.now() - t0 < 20_000 && remaining() > 0) await sleep(50);
      const joinMs = Date.now() - t0;
      await sleep(200);
      polling = false;
      await poller;
      const c = await brokerCounts(ctx.nats);
      log(
        `  rep ${r + 1}: subscriptions ${base.subscriptions} → ${c.subscriptions} (per connection ${c.per_connection.join(', ')}), consumers ${base.consumers} → peak ${peak} during the joins (${polls} polls over ${joinMs} ms) → ${c.consumers}`,
      );
      await ctx.clients.close();
      for (const j of live) await cancelJob(api, j.id);
      for (const j of live) await waitStatus(api, j.id, ['cancelled', 'failed', 'completed']).catch(() => {});
      return {
        subscriptions: c.subscriptions,
        consumers: c.consumers,
        base_subscriptions: base.subscriptions,
        base_consumers: base.consumers,
        peak_consumers: peak,
        transient_consumers: peak - base.consumers,
        polls,
        join_ms: joinMs,
        per: c.per_connection,
        connections: c.connections,
      };
    });
    const last = rs.at(-1);
    results.broker = {
      clients: n,
      jobs,
      watchers: jobs,
      subscriptions: med(rs, 'subscriptions'),
      consumers: med(rs, 'consumers'),
      subscriptions_without_clients: med(rs, 'base_subscriptions'),
      consumers_before_joins: med(rs, 'base_consumers'),
      peak_consumers_during_joins: Math.max(...rs.map((x) => x.peak_consumers)),
      transient_consumers_for_joins: Math.max(...rs.map((x) => x.transient_consumers)),
      subscriptions_per_connection: last.per,
      nats_connections: last.connections,
      runs: {
        subscriptions: runsOf(rs, 'subscriptions'),
        consumers: runsOf(rs, 'consumers'),
        transient_consumers: runsOf(rs, 'transient_consumers'),
        polls: runsOf(rs, 'polls'),
        join_ms: runsOf(rs, 'join_ms'),
      },
    };
  } finally {
    await api.stop();
  }
}

async function scenarioPeer(ctx, results) {
  const { listeners, chunks } = SIZES.peer;
  log(`peer: resumable-stream vs jobstream, ${listeners} listeners × ${chunks} chunks, ${SIZES.reps} rep(s)`);
  const peer = await startHelper('peer-server.mjs', { REDIS_URL: ctx.redis.url });
  const probe = profile ? profileArgs('peer') : null;
  const api = await startSplit(ctx, { concurrency: 1, ...(probe?.opts ?? {}) });
  const js = [];
  const rs = [];
  const workerCpu = [];
  try {
    for (let r = 0; r < SIZES.reps; r++) {
      checkDeadline();
      // the worker's CPU time per append of the one job (its appends are sequential: one ack round trip each)
      const w0 = cpuMs(api.worker.pid);
      const a = await jobstreamFanout(api, ctx.clients, listeners, chunks);
      const w = ((cpuMs(api.worker.pid) - w0) * 1000) / chunks;
      const b = await peerFanout(peer, ctx.clients, listeners, chunks);
      log(
        `  rep ${r + 1}: jobstream ${round(a.deliveries_per_s)}/s (${round(a.deliveries_per_s / listeners)} appends/s, worker ${round(w, 1)} ms CPU / 1k appends), resumable-stream ${round(b.deliveries_per_s)}/s (${b.delivered}/${b.expected})`,
      );
      js.push(a.deliveries_per_s);
      rs.push(b.deliveries_per_s);
      workerCpu.push(w);
    }
  } finally {
    await api.stop();
    await peer.stop();
  }
  if (probe) reportProfiles(probe);
  const a = median(js);
  const b = median(rs);
  results.peer = {
    jobstream_deliveries_per_s: round(a),
    resumable_stream_deliveries_per_s: round(b),
    ratio: round(a / b, 2),
    listeners,
    chunks,
    // one job's appends per second (sequential) and the worker's CPU per 1,000 of them (blocker + job set-up included)
    appends_per_s: round(a / listeners),
    worker_cpu_ms_per_1k_appends: round(median(workerCpu), 1),
    runs: {
      jobstream: js.map((x) => round(x)),
      resumable_stream: rs.map((x) => round(x)),
      worker_cpu_ms_per_1k_appends: workerCpu.map((x) => round(x, 1)),
    },
  };
}

/** The headline figures of a results object, one row per scenario: [scenario, unit, value, against, value, ratio]. */
function rows(r) {
  return [
    [
      'fan-out',
      'deliveries/s',
      r.fanout?.deliveries_per_s,
      'ceilings: naive / per-turn',
      r.fanout && `${r.fanout.raw_deliveries_per_s ?? '—'} / ${r.fanout.batched_deliveries_per_s ?? '—'}`,
      r.fanout && `${r.fanout.ratio ?? '—'} / ${r.fanout.batched_ratio ?? '—'}`,
    ],
    [
      'latency',
      'p50 / p99 / max ms',
      r.latency && `${r.latency.p50_ms} / ${r.latency.p99_ms} / ${r.latency.max_ms}`,
      'CPU ms/1k: API deliveries / worker appends',
      r.latency && `${r.latency.api_cpu_ms_per_1k_deliveries ?? '—'} / ${r.latency.worker_cpu_ms_per_1k_events ?? '—'}`,
      '',
    ],
    ['replay', 'events/s', r.replay?.events_per_s, 'ordered consumer', r.replay?.raw_events_per_s, r.replay?.ratio],
    [
      'connections',
      'RSS KiB/conn (count)',
      r.connections && `${r.connections.rss_per_connection_kb} (${r.connections.count})`,
      'idle CPU %',
      r.connections?.idle_cpu_percent,
      '',
    ],
    ['ttft', 'p50 / p99 ms', r.ttft && `${r.ttft.p50_ms} / ${r.ttft.p99_ms}`, '', '', ''],
    [
      'broker',
      'subs / consumers / transient for joins',
      r.broker &&
        `${r.broker.subscriptions} / ${r.broker.consumers} / ${r.broker.transient_consumers_for_joins ?? '?'}`,
      'clients / jobs',
      r.broker && `${r.broker.clients} / ${r.broker.jobs}`,
      '',
    ],
    [
      'tracing',
      'fan-out off / on',
      r.tracing && `${r.tracing.fanout_off} / ${r.tracing.fanout_on}`,
      'appends/s off / on',
      r.tracing && `${r.tracing.appends_per_s_off} / ${r.tracing.appends_per_s_on}`,
      r.tracing && `TTFT ${r.tracing.ttft_p50_ms_off} / ${r.tracing.ttft_p50_ms_on} ms`,
    ],
    [
      'peer',
      'deliveries/s',
      r.peer?.jobstream_deliveries_per_s,
      'resumable-stream',
      r.peer?.resumable_stream_deliveries_per_s,
      r.peer?.ratio,
    ],
    [
      'chat',
      'p50 / p99 / max ms',
      r.chat && `${r.chat.p50_ms} / ${r.chat.p99_ms} / ${r.chat.max_ms}`,
      'exact clients / API CPU ms per 1k tokens',
      r.chat && `${r.chat.exact}/${r.chat.clients} / ${r.chat.api_cpu_ms_per_1k_tokens}`,
      '',
    ],
    capacityRow(r),
  ].map((row) => row.map((c) => (c === undefined || c === null ? '—' : String(c))));
}

/** The results table; with a baseline, a "before" column (the baseline's jobstream value and ratio) is added. */
function table(r, base) {
  const now = rows(r);
  const head = ['scenario', 'unit', 'jobstream', 'against', 'value', 'ratio'];
  let all = [
    head,
    ...now.map((row) =>
      r[keyOf(row[0])]?.error
        ? [...row.slice(0, 2), `FAILED: ${r[keyOf(row[0])].error}`.slice(0, 60), '', '', '']
        : row,
    ),
  ];
  if (base) {
    const before = rows(base);
    all = all.map((row, i) =>
      i === 0
        ? [...row.slice(0, 2), 'before', 'after', ...row.slice(3), 'ratio before']
        : [...row.slice(0, 2), before[i - 1][2], ...row.slice(2), before[i - 1][5]],
    );
  }
  const w = all[0].map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(all[0]), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...all.slice(1).map(line)].join('\n');
}
const keyOf = (label) => (label === 'fan-out' ? 'fanout' : label);

/**
 * Runs one scenario within its budget. The scenario's async work runs in its own scope (see `scenarioScope`):
 * `checkDeadline()` throws once the budget is spent, waits are capped at what is left; a scenario that does not
 * return within budget + GRACE_S is abandoned: its processes are killed and the shared clients restarted.
 */
async function runScenario(name, fn, ctx, results) {
  const budgetS = BUDGET_S[name];
  const sc = { name, budgetS, deadline: Date.now() + budgetS * 1000 };
  const t0 = Date.now();
  let timer;
  const hard = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name}: stuck past its time budget (${budgetS} s + ${GRACE_S} s grace), killed`)),
      (budgetS + GRACE_S) * 1000,
    );
  });
  try {
    await Promise.race([scenarioScope.run(sc, () => fn(ctx, results)), hard]);
    await ctx.clients.close(); // sockets of a rep cut by the budget, if any
    return {
      status: sc.reps !== undefined && sc.reps < SIZES.reps ? 'partial' : 'ok',
      reps: sc.reps,
      seconds: round((Date.now() - t0) / 1000, 1),
    };
  } catch (err) {
    log(`${name} FAILED: ${err.stack ?? err}`);
    results[name] = { error: String(err.message ?? err) };
    killScope(sc);
    // the shared clients may hold the scenario's sockets (or be stuck in its RPC): start fresh ones
    await ctx.clients.stop();
    ctx.clients = await startClients(SIZES.clientProcs);
    return { status: 'failed', seconds: round((Date.now() - t0) / 1000, 1) };
  } finally {
    clearTimeout(timer);
  }
}

function loadBaseline() {
  const file = baselineArg ?? join(ROOT, 'bench', 'results', quick ? 'quick-baseline.json' : 'latest.json');
  if (!existsSync(file)) return null;
  try {
    return { file, data: JSON.parse(readFileSync(file, 'utf8')) };
  } catch {
    return null;
  }
}

async function main() {
  const baseline = loadBaseline(); // read first: this run may overwrite latest.json
  const load0 = os.loadavg();
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
    ['chat', scenarioChat],
    ['capacity', (c, r) => scenarioCapacity(c, r, { quick, reps: SIZES.reps, log })],
    ['throughput', (c, r) => scenarioThroughput(c, r, { quick, reps: SIZES.reps, log, args })],
    ['tracing', scenarioTracing], // opt-in: --only=tracing
  ];
  const ran = {};
  for (const [name, fn] of scenarios) {
    if (!want(name) || (name === 'tracing' && !only?.includes('tracing'))) continue; // tracing: opt-in
    ran[name] = await runScenario(name, fn, ctx, results);
  }
  const failed = Object.values(ran).some((x) => x.status === 'failed');
  await ctx.clients.stop();
  const out = {
    ...results,
    meta: {
      mode: quick ? 'quick' : 'full',
      date: new Date().toISOString(),
      seconds: round((Date.now() - startedAt) / 1000, 1),
      scenarios: ran,
      budgets_s: BUDGET_S,
      reps: SIZES.reps,
      load_average_1m: { start: round(load0[0], 1), end: round(os.loadavg()[0], 1) },
      node: process.version,
      cpus: `${os.cpus().length} × ${os.cpus()[0]?.model}`,
      memory_gb: round(os.totalmem() / 1024 ** 3, 1),
      sizes: SIZES,
      apis: APIS,
      path: `worker process (dist/src/worker/main.js) → JetStream → ${APIS} API process(es) (no in-process worker) → SSE clients in 2–4 client processes`,
    },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', quick ? 'quick.json' : 'latest.json');
  if (!only) writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  else writeFileSync(outArg ?? join(ROOT, 'bench', 'results', 'partial.json'), JSON.stringify(out, null, 2) + '\n');
  if (baseline)
    console.log(
      `before = ${baseline.file} (${baseline.data.meta?.date ?? '?'}, ${baseline.data.meta?.mode ?? '?'}, load ${baseline.data.meta?.load_average_1m?.start ?? '?'})`,
    );
  console.log(table(results, baseline?.data));
  log(
    `done in ${out.meta.seconds} s (load average ${out.meta.load_average_1m.start} → ${out.meta.load_average_1m.end} on ${os.cpus().length} cores)${only ? '' : `; wrote ${file}`}`,
  );
  await nats.stop();
  await redis.stop();
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
