/**
 * HTTP worker benchmark: `npm run build && node bench/worker-http.mjs [--events=N] [--reps=N]`.
 *
 * Private nats-server + redis-server; one API process (`dist/src/main.js`, EMBEDDED_WORKER=false, WORKER_KEYS set)
 * whose CPU is measured (/proc). Two ways of writing one job's `events` tokens:
 * - HTTP worker: this script claims the job over `/v1/worker/claim` and appends the tokens in batches of B outputs,
 *   one request in flight at a time (as clients/python's runner ships them), then `done`. Events/s = events ÷ the
 *   time from the first append request to the answer of the last; API CPU per 1,000 appended events.
 * - NATS worker: a worker process (`dist/src/worker/main.js`) runs `echo` with the same number of tokens, no delay.
 *   Events/s = events ÷ (ts of `done` − ts of the first token), from the events' own `ts`; the worker's CPU per
 *   1,000 appends (the process that does the appending work there), and the API's (idle on that path).
 * Prints JSON; figures go to bench/README.md by hand.
 */
import { cpuMs, killAll, startApi, startNats, startRedis, startWorker } from './lib/procs.mjs';

const arg = (name, def) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const EVENTS = arg('events', 20_000);
const REPS = arg('reps', 3);
const BATCHES = [10, 100, 500];
const WORKER_KEY = 'bench-worker-key-0123456789abcdefghijklmnop';
const W = { authorization: `Bearer ${WORKER_KEY}`, 'content-type': 'application/json' };
const T = { 'content-type': 'application/json' };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const post = async (url, body, headers) => {
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
};

async function httpRun(api, batch) {
  const agent = { name: 'bench-http', description: 'bench', input_schema: { type: 'object' } };
  const claim = () => post(`${api.url}/v1/worker/claim`, { worker_id: 'bench', agents: [agent], wait_s: 5 }, W);
  await claim(); // announce
  const job = (await post(`${api.url}/v1/jobs`, { agent: 'bench-http', input: {} }, T)).body;
  const lease = (await claim()).body;
  if (lease?.job_id !== job.id) throw new Error(`claimed ${JSON.stringify(lease)}`);
  const cpu0 = cpuMs(api.pid);
  const t0 = performance.now();
  let seq = 0;
  for (let sent = 0; sent < EVENTS;) {
    const n = Math.min(batch, EVENTS - sent);
    const outputs = Array.from({ length: n }, (_, i) => ({ type: 'token', text: `tok${sent + i} ` }));
    const r = await post(`${api.url}/v1/worker/leases/${lease.lease_id}/events`, outputs, {
      ...W,
      'producer-seq': String(seq),
    });
    if (r.status !== 200) throw new Error(`append ${seq}: ${r.status} ${JSON.stringify(r.body)}`);
    seq++;
    sent += n;
  }
  const done = await post(
    `${api.url}/v1/worker/leases/${lease.lease_id}/events`,
    [{ type: 'done', usage: { input_tokens: 0, output_tokens: EVENTS }, output: {} }],
    { ...W, 'producer-seq': String(seq) },
  );
  if (done.status !== 200) throw new Error(`done: ${done.status}`);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMs(api.pid) - cpu0;
  return { events_per_s: EVENTS / seconds, api_cpu_ms_per_1000: (cpu / EVENTS) * 1000, requests: seq + 1 };
}

async function natsRun(api, worker) {
  const words = 100;
  const message = Array.from({ length: words }, (_, i) => `w${i}`).join(' ');
  const cpuApi0 = cpuMs(api.pid);
  const cpuW0 = cpuMs(worker.pid);
  const job = (
    await post(`${api.url}/v1/jobs`, { agent: 'echo', input: { message, repeat: Math.ceil(EVENTS / words) } }, T)
  ).body;
  const res = await (await fetch(`${api.url}/v1/jobs/${job.id}/wait?timeout_s=120`)).json();
  if (res.status !== 'completed') throw new Error(`echo job ${res.status}`);
  const cpuApi = cpuMs(api.pid) - cpuApi0;
  const cpuW = cpuMs(worker.pid) - cpuW0;
  // first token and done times from the log
  let after = '';
  let first = null;
  let last = null;
  let tokens = 0;
  for (;;) {
    const page = await (
      await fetch(`${api.url}/v1/jobs/${job.id}/events?limit=1000${after ? `&after=${after}` : ''}`)
    ).json();
    for (const e of page.events) {
      if (e.type === 'token') {
        tokens++;
        first ??= Date.parse(e.ts);
      }
      if (e.type === 'done') last = Date.parse(e.ts);
    }
    if (!page.has_more || page.events.length === 0) break;
    after = page.next_after;
  }
  return {
    events_per_s: tokens / Math.max(0.001, (last - first) / 1000),
    worker_cpu_ms_per_1000: (cpuW / tokens) * 1000,
    api_cpu_ms_per_1000: (cpuApi / tokens) * 1000,
  };
}

const [nats, redis] = await Promise.all([startNats(), startRedis()]);
try {
  const api = await startApi({ nats, redis, env: { EMBEDDED_WORKER: 'false', WORKER_KEYS: `bench:${WORKER_KEY}` } });
  const worker = await startWorker({ nats, redis, env: { WORKER_AGENTS: 'echo' } });
  const out = { events: EVENTS, reps: REPS, http: {}, nats: null, load_avg: (await import('node:os')).loadavg()[0] };
  for (const b of BATCHES) {
    const runs = [];
    for (let i = 0; i < REPS; i++) runs.push(await httpRun(api, b));
    out.http[`batch_${b}`] = {
      events_per_s: round(median(runs.map((r) => r.events_per_s)), 0),
      api_cpu_ms_per_1000: round(median(runs.map((r) => r.api_cpu_ms_per_1000))),
      requests: runs[0].requests,
    };
  }
  const runs = [];
  for (let i = 0; i < REPS; i++) runs.push(await natsRun(api, worker));
  out.nats = {
    events_per_s: round(median(runs.map((r) => r.events_per_s)), 0),
    worker_cpu_ms_per_1000: round(median(runs.map((r) => r.worker_cpu_ms_per_1000))),
    api_cpu_ms_per_1000: round(median(runs.map((r) => r.api_cpu_ms_per_1000))),
  };
  console.log(JSON.stringify(out, null, 2));
} finally {
  killAll();
}
