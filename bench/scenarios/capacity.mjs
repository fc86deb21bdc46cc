/**
 * The capacity scenario: the largest load (jobs × 5 clients, 50 tokens/s per job) whose steady-state p99 latency
 * stays within 50 ms, for jobstream (worker → JetStream → API → SSE) and for the per-turn ceiling server
 * (bench/ceiling-batched-server.mjs: the same worker and JetStream republish subject, the SSE writer's write pattern,
 * nothing else), searched in the same run with alternating probes so both share the machine's noise: the load
 * doubles until a probe misses the goal (confirmed by a second probe at the same load), then a geometric bisection
 * narrows the bracket. Each probe also reads unit costs from CPU time (`/proc`) and counters: API CPU per 1,000
 * deliveries, worker and nats-server CPU per 1,000 appends, NATS messages and bytes per token (`/varz`), Redis
 * commands and CPU per job (`INFO stats`). See bench/README.md and docs/capacity.md.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { histPercentiles } from '../lib/sse-client.mjs';
import { sleep, startApi, startWorker, startHelper, cpuMs, scenarioScope } from '../lib/procs.mjs';

/** Latency goal of a load (ms, p99 of live deliveries after every client is open). */
const GOAL_P99_MS = 50;
const PER_JOB = 5;
const TOKENS_PER_S = 50;

/** Sizes: probe length, first load (jobs), the bracket at which the bisection stops, the largest load tried. */
export const capacitySizes = (quick) =>
  quick
    ? { seconds: 3, startJobs: 10, stopRatio: 1.5, maxJobs: 640, reps: 1 }
    : { seconds: 6, startJobs: 10, stopRatio: 1.2, maxJobs: 1280, reps: 3 };

/** Time budget (s): quick is a coarse doubling search, full three searches with bisection. */
export const CAPACITY_BUDGET_S = { quick: 150, full: 900 };

const remaining = () => {
  const sc = scenarioScope.getStore();
  return sc ? sc.deadline - Date.now() : Infinity;
};
const round = (x, d = 0) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d;
const median = (xs) => {
  const s = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Least-squares line through [x, y] points: the marginal cost (slope) and the fixed cost of a probe (intercept). */
function fit(points) {
  const n = points.length;
  if (n < 2) return { slope: null, intercept: null };
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  if (sxx === 0) return { slope: null, intercept: null };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}
const load1 = () => round(os.loadavg()[0], 1);

async function post(url, body) {
  for (let i = 0; ; i++) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    if (res.ok) return json;
    if (res.status !== 503 || i >= 5) throw new Error(`POST ${url}: ${res.status} ${JSON.stringify(json)}`);
    await sleep(300 * (i + 1)); // shed under overload: retried as a client would
  }
}

/** Creates `n` echo jobs of `tokens` tokens at 50 tokens/s, 50 POSTs at a time. */
async function createJobs(api, n, tokens) {
  const ids = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, () =>
        post(`${api.url}/v1/jobs`, {
          agent: 'echo',
          input: { message: 'tok ', repeat: tokens, delay_ms: 1000 / TOKENS_PER_S },
        }),
      ),
    );
    ids.push(...batch.map((j) => j.id));
  }
  return ids;
}

/** Opens the clients across the client processes (as `clients.open`, one port), then starts measuring. */
async function openMeasured(clients, port, paths) {
  const per = clients.procs.map(() => []);
  paths.forEach((p, i) => per[i % clients.procs.length].push([port, p]));
  const rs = await Promise.all(
    clients.procs.map((p, i) => p.rpc({ cmd: 'open', targets: per[i], mode: 'latency', parallel: 50 })),
  );
  const opened = rs.reduce((a, r) => a + r.opened, 0);
  // the join burst (connections, catch-up reads) is not steady state: latencies of events appended 500 ms after
  // the last client opened
  const at = Date.now() + 500;
  await Promise.all(clients.procs.map((p) => p.rpc({ cmd: 'measureFrom', at })));
  return { opened, errors: rs.flatMap((r) => r.errors) };
}

async function varz(nats) {
  const v = await (await fetch(`${nats.monitorUrl}/varz`)).json();
  return { in_msgs: v.in_msgs, in_bytes: v.in_bytes, out_msgs: v.out_msgs, out_bytes: v.out_bytes };
}
async function redisCommands(redis) {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
}

/**
 * One probe: `jobs` jobs × 5 clients on `server` ('jobstream' | 'ceiling') for `seconds` of tokens. Within the
 * goal = p99 ≤ 50 ms, every connection opened, every stream ended, and the tokens delivered within 1.5× the
 * tokens' span (a backlog is over capacity whatever its latency percentiles say).
 */
async function probe(env, server, jobs) {
  const { ctx, api, ceiling, redis, seconds } = env;
  const tokens = seconds * TOKENS_PER_S;
  const cpuNow = () => ({
    api: cpuMs(api.pid),
    worker: cpuMs(env.worker.pid),
    ceiling: cpuMs(ceiling.pid),
    nats: cpuMs(ctx.nats.pid),
    redis: cpuMs(ctx.redis.pid),
  });
  const cpu0 = cpuNow();
  const v0 = await varz(ctx.nats);
  const r0 = await redisCommands(redis);
  const loadStart = load1();
  const ids = await createJobs(api, jobs, tokens);
  const paths = ids.flatMap((id) =>
    Array.from({ length: PER_JOB }, () => (server === 'jobstream' ? `/v1/jobs/${id}/stream` : `/stream?job=${id}`)),
  );
  const { opened, errors } = await openMeasured(ctx.clients, server === 'jobstream' ? api.port : ceiling.port, paths);
  const end = Date.now() + seconds * 1000 + 30_000;
  let s;
  for (;;) {
    s = await ctx.clients.stats();
    if (s.ended >= opened || Date.now() > end || remaining() < 0) break;
    await sleep(100);
  }
  const unfinished = opened - s.ended;
  await ctx.clients.close();
  if (unfinished > 0)
    await Promise.all(ids.map((id) => post(`${api.url}/v1/jobs/${id}/cancel`, { reason: 'bench' }).catch(() => {})));
  // every job's terminal event appended before the counters are read (the ceiling's clients end on it too)
  const v1 = await varz(ctx.nats);
  const r1 = await redisCommands(redis);
  const cpu1 = cpuNow();
  const p = histPercentiles(s.hist);
  const deliveryS = (s.last - s.first) / 1000;
  const appended = jobs * tokens;
  const ok =
    p.n > 0 && p.p99_ms <= GOAL_P99_MS && opened === paths.length && unfinished === 0 && deliveryS <= seconds * 1.5;
  const serverCpu = server === 'jobstream' ? cpu1.api - cpu0.api : cpu1.ceiling - cpu0.ceiling;
  return {
    server,
    jobs,
    clients: paths.length,
    ok,
    p50_ms: p.p50_ms,
    p99_ms: p.p99_ms,
    max_ms: p.max_ms,
    samples: p.n,
    opened,
    unfinished,
    delivery_s: round(deliveryS, 1),
    errors: errors.slice(0, 3),
    load_1m: [loadStart, load1()],
    // CPU time per unit of work: the figures that survive a busy machine
    server_cpu_ms: serverCpu,
    worker_cpu_ms: cpu1.worker - cpu0.worker,
    nats_cpu_ms: cpu1.nats - cpu0.nats,
    deliveries: s.tokens,
    appended,
    server_cpu_ms_per_1k_deliveries: round((serverCpu * 1000) / Math.max(1, s.tokens), 1),
    worker_cpu_ms_per_1k_appends: round(((cpu1.worker - cpu0.worker) * 1000) / appended, 1),
    nats_in_msgs_per_token: round((v1.in_msgs - v0.in_msgs) / appended, 2),
    nats_in_bytes_per_token: round((v1.in_bytes - v0.in_bytes) / appended),
    nats_out_msgs_per_token: round((v1.out_msgs - v0.out_msgs) / appended, 2),
    nats_out_bytes_per_token: round((v1.out_bytes - v0.out_bytes) / appended),
    redis_commands_per_job: round((r1 - r0) / jobs, 1),
    // the broker's and the store's CPU (single node, R1, file storage): per 1,000 tokens appended, per job
    nats_cpu_ms_per_1k_tokens: round(((cpu1.nats - cpu0.nats) * 1000) / appended, 1),
    redis_cpu_ms_per_job: round((cpu1.redis - cpu0.redis) / jobs, 2),
    api_ms_per_job_created: server === 'ceiling' ? round((cpu1.api - cpu0.api) / jobs, 2) : null, // the ceiling's jobs: create + dispatch only
  };
}

/** One search: both servers stepped up alternately (doubling, then bisection) until each bracket is narrow. */
async function search(env, rep, log, prev) {
  const { startJobs, stopRatio, maxJobs } = env.sizes;
  const st = {};
  for (const s of ['jobstream', 'ceiling']) {
    // after the first search, start a doubling step below the previous answer (fewer probes, same bracket rule)
    let start = startJobs;
    while (prev?.[s] && start * 4 <= prev[s]) start *= 2;
    st[s] = { lo: 0, hi: Infinity, next: start, probes: [] };
  }
  const nextOf = (x) => {
    if (x.hi === Infinity) return x.lo ? Math.min(x.lo * 2, maxJobs) : x.next;
    if (x.lo === 0) return x.hi > 1 ? Math.max(1, Math.floor(x.hi / 2)) : null;
    if (x.hi / x.lo <= stopRatio || x.hi - x.lo <= 1) return null;
    return Math.round(Math.sqrt(x.lo * x.hi));
  };
  let longest = 0;
  for (let round_ = 0; ; round_++) {
    const order = round_ % 2 === rep % 2 ? ['jobstream', 'ceiling'] : ['ceiling', 'jobstream'];
    let any = false;
    for (const s of order) {
      const x = st[s];
      const jobs = nextOf(x);
      if (jobs === null || (x.lo >= maxJobs && x.hi === Infinity)) continue;
      if (remaining() < longest + 5_000) {
        log(`  capacity: budget left ${Math.round(remaining() / 1000)} s, stopping the search here`);
        return { st, cut: true };
      }
      any = true;
      const t0 = Date.now();
      let p = await probe(env, s, jobs);
      x.probes.push(p);
      if (!p.ok && remaining() > 2 * (Date.now() - t0) + 5_000) {
        // a miss is confirmed by a second probe at the same load: other work on the machine only adds latency, so
        // one spike is not the server's capacity (the better of the two probes is the verdict)
        log(`  rep ${rep + 1} ${s.padEnd(9)} ${jobs} jobs: p99 ${p.p99_ms} ms, probing again to confirm`);
        const again = await probe(env, s, jobs);
        x.probes.push(again);
        if (again.ok || again.p99_ms < p.p99_ms) p = again;
      }
      longest = Math.max(longest, Date.now() - t0);
      if (p.ok) x.lo = Math.max(x.lo, jobs);
      else x.hi = Math.min(x.hi, jobs);
      if (x.lo >= x.hi) x.lo = x.hi - 1; // a noisy pass above a miss: the miss stands
      log(
        `  rep ${rep + 1} ${s.padEnd(9)} ${String(jobs).padStart(4)} jobs × ${PER_JOB} = ${String(p.clients).padStart(5)} clients: p50 ${p.p50_ms} p99 ${p.p99_ms} max ${p.max_ms} ms, ${p.delivery_s} s for ${env.seconds} s of tokens → ${p.ok ? 'within' : 'OVER'} (CPU ${p.server_cpu_ms_per_1k_deliveries} ms / 1k deliveries, worker ${p.worker_cpu_ms_per_1k_appends} ms / 1k appends; load ${p.load_1m.join(' → ')})`,
      );
    }
    if (!any) return { st, cut: false };
  }
}

export async function scenarioCapacity(ctx, results, { quick, reps: repsArg, log }) {
  const sizes = capacitySizes(quick);
  const reps = repsArg ?? sizes.reps;
  log(
    `capacity: largest jobs × ${PER_JOB} clients at ${TOKENS_PER_S} tok/s with p99 ≤ ${GOAL_P99_MS} ms, jobstream vs the per-turn ceiling, probes of ${sizes.seconds} s, ${reps} search(es)`,
  );
  const worker = await startWorker({ ...ctx, env: { WORKER_CONCURRENCY: String(sizes.maxJobs + 16) } });
  const api = await startApi({ ...ctx, env: { EMBEDDED_WORKER: 'false' } });
  const ceiling = await startHelper('ceiling-batched-server.mjs', { NATS_URL: ctx.nats.url });
  const redis = new Redis(ctx.redis.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const env = { ctx, api, worker, ceiling, redis, sizes, seconds: sizes.seconds };
  const searches = [];
  let longest = 0;
  try {
    // warm-up (JIT, pools, the ceiling's NATS connection), not measured
    await probe(env, 'jobstream', 5);
    await probe(env, 'ceiling', 5);
    for (let r = 0; r < reps; r++) {
      if (r > 0 && remaining() < longest) {
        log(
          `  capacity: ${Math.round(remaining() / 1000)} s left, a search takes ~${Math.round(longest / 1000)} s: ${r} search(es)`,
        );
        break;
      }
      const t0 = Date.now();
      const prev = searches.at(-1);
      const { st, cut } = await search(
        env,
        r,
        log,
        prev && { jobstream: prev.jobstream.jobs, ceiling: prev.ceiling.jobs },
      );
      longest = Math.max(longest, Date.now() - t0);
      const at = (s) => {
        const x = st[s];
        const best = x.probes.filter((p) => p.ok && p.jobs === x.lo).at(-1) ?? null;
        return {
          jobs: x.lo,
          clients: x.lo * PER_JOB,
          bracket: [x.lo, x.hi === Infinity ? null : x.hi],
          at: best,
          probes: x.probes,
        };
      };
      const out = { jobstream: at('jobstream'), ceiling: at('ceiling'), cut, load_1m: load1() };
      out.ratio = out.ceiling.jobs ? out.jobstream.jobs / out.ceiling.jobs : null;
      searches.push(out);
      log(
        `  search ${r + 1}: jobstream ${out.jobstream.clients} clients (${out.jobstream.jobs} jobs, bracket ${out.jobstream.bracket.join('–')}), ceiling ${out.ceiling.clients} clients (${out.ceiling.jobs} jobs, bracket ${out.ceiling.bracket.join('–')}) → ratio ${round(out.ratio, 2)}${cut ? ' (cut by the budget)' : ''}; load ${out.load_1m}`,
      );
      if (cut) break;
    }
  } finally {
    redis.disconnect();
    await api.stop();
    await worker.stop();
    await ceiling.stop();
  }
  if (!searches.length) throw new Error('capacity: no search completed');
  const sc = scenarioScope.getStore();
  if (sc) sc.reps = searches.length;
  const m = (f, d = 0) => round(median(searches.map(f)), d);
  // unit costs at the capacity point of each search (the load a sizing plans for), median over the searches;
  // the CPU figures also as the marginal cost (slope of CPU over work across every probe of the server: at low
  // loads a probe's fixed costs — timers, heartbeats, job set-up — weigh on the per-unit figure)
  const okJs = searches.map((x) => x.jobstream.at).filter(Boolean);
  const u = (k, d = 1) => round(median(okJs.map((p) => p[k])), d);
  const allOf = (s) => searches.flatMap((x) => x[s].probes);
  const apiFit = fit(allOf('jobstream').map((p) => [p.deliveries, p.server_cpu_ms]));
  const workerFit = fit(allOf('jobstream').map((p) => [p.appended, p.worker_cpu_ms]));
  const natsFit = fit(allOf('jobstream').map((p) => [p.appended, p.nats_cpu_ms]));
  const perK = (slope) => (slope === null ? null : round(slope * 1000, 1));
  const ceilingFit = fit(allOf('ceiling').map((p) => [p.deliveries, p.server_cpu_ms]));
  const jsJobs = m((x) => x.jobstream.jobs);
  const ceJobs = m((x) => x.ceiling.jobs);
  results.capacity = {
    goal: `p99 ≤ ${GOAL_P99_MS} ms (live deliveries, from 500 ms after the last client opened), ${PER_JOB} clients per job, ${TOKENS_PER_S} tokens/s per job`,
    jobstream_clients: jsJobs === null ? null : jsJobs * PER_JOB,
    ceiling_clients: ceJobs === null ? null : ceJobs * PER_JOB,
    jobstream_jobs: jsJobs,
    ceiling_jobs: ceJobs,
    jobstream_deliveries_per_s: jsJobs === null ? null : jsJobs * PER_JOB * TOKENS_PER_S,
    ceiling_deliveries_per_s: ceJobs === null ? null : ceJobs * PER_JOB * TOKENS_PER_S,
    // ratio per search (same machine state), then the median
    ratio: m((x) => x.ratio, 2),
    probe_seconds: sizes.seconds,
    searches: searches.length,
    units: {
      from: `the jobstream probe at the capacity point of ${okJs.length} search(es) (median)`,
      api_cpu_ms_per_1k_deliveries: u('server_cpu_ms_per_1k_deliveries'),
      worker_cpu_ms_per_1k_appends: u('worker_cpu_ms_per_1k_appends'),
      nats_in_msgs_per_token: u('nats_in_msgs_per_token', 2),
      nats_in_bytes_per_token: u('nats_in_bytes_per_token', 0),
      nats_out_msgs_per_token: u('nats_out_msgs_per_token', 2),
      nats_out_bytes_per_token: u('nats_out_bytes_per_token', 0),
      redis_commands_per_job: u('redis_commands_per_job'),
      nats_cpu_ms_per_1k_tokens: u('nats_cpu_ms_per_1k_tokens'),
      redis_cpu_ms_per_job: u('redis_cpu_ms_per_job', 2),
      tokens_per_job: sizes.seconds * TOKENS_PER_S,
      marginal: {
        from: 'least squares of CPU ms over work across every probe (within the goal or not)',
        api_cpu_ms_per_1k_deliveries: perK(apiFit.slope),
        api_fixed_cpu_ms_per_probe: round(apiFit.intercept),
        worker_cpu_ms_per_1k_appends: perK(workerFit.slope),
        worker_fixed_cpu_ms_per_probe: round(workerFit.intercept),
        nats_cpu_ms_per_1k_tokens: perK(natsFit.slope),
        ceiling_cpu_ms_per_1k_deliveries: perK(ceilingFit.slope),
      },
    },
    ceiling_cpu_ms_per_1k_deliveries: round(
      median(
        searches.flatMap((x) => x.ceiling.probes.filter((p) => p.ok).map((p) => p.server_cpu_ms_per_1k_deliveries)),
      ),
      1,
    ),
    runs: searches.map((x) => ({
      jobstream_jobs: x.jobstream.jobs,
      ceiling_jobs: x.ceiling.jobs,
      brackets: { jobstream: x.jobstream.bracket, ceiling: x.ceiling.bracket },
      ratio: round(x.ratio, 2),
      cut: x.cut,
      load_1m: x.load_1m,
      probes: [...x.jobstream.probes, ...x.ceiling.probes].map((p) => ({
        server: p.server,
        jobs: p.jobs,
        ok: p.ok,
        p50_ms: p.p50_ms,
        p99_ms: p.p99_ms,
        max_ms: p.max_ms,
        delivery_s: p.delivery_s,
        samples: p.samples,
        unfinished: p.unfinished,
        cpu_ms_per_1k_deliveries: p.server_cpu_ms_per_1k_deliveries,
        worker_cpu_ms_per_1k_appends: p.worker_cpu_ms_per_1k_appends,
        nats_in_msgs_per_token: p.nats_in_msgs_per_token,
        nats_in_bytes_per_token: p.nats_in_bytes_per_token,
        nats_out_msgs_per_token: p.nats_out_msgs_per_token,
        nats_out_bytes_per_token: p.nats_out_bytes_per_token,
        redis_commands_per_job: p.redis_commands_per_job,
        nats_cpu_ms_per_1k_tokens: p.nats_cpu_ms_per_1k_tokens,
        redis_cpu_ms_per_job: p.redis_cpu_ms_per_job,
        cpu_ms: { server: p.server_cpu_ms, worker: p.worker_cpu_ms },
        deliveries: p.deliveries,
        load_1m: p.load_1m,
        errors: p.errors.length ? p.errors : undefined,
      })),
    })),
  };
}

/** The results table's row: [scenario, unit, value, against, value, ratio]. */
export function capacityRow(r) {
  const c = r.capacity;
  return [
    'capacity',
    'clients within p99 ≤ 50 ms',
    c && `${c.jobstream_clients}`,
    'per-turn ceiling',
    c && `${c.ceiling_clients}`,
    c?.ratio,
  ];
}
