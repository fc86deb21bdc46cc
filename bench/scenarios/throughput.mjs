/**
 * Scenario `throughput`: one job producing tokens as fast as it can (echo, `delay_ms: 0`), through a worker process
 * whose NATS connection goes through a delay proxy (bench/lib/delay-proxy.mjs) adding `--rtt` ms of round trip
 * (0 = no proxy: loopback), to one SSE client of an API process. Reports tokens/s delivered to the client (tokens
 * ÷ time from the job's `status: running` — the worker starts it — to the client receiving `done`; `e2e` from the
 * POST, the dispatch included), events per token, and checks the text is exact and `seq` dense.
 * Each setting runs with coalescing on (COALESCE_TEXT_EVENTS=true, the default) and off (one event per token:
 * the code before coalescing), medians of the reps.
 *
 * Options: --rtt=0,1,5 (ms; quick: 0,1)  --coalesce=on,off  --throughput-tokens=N (per job; default by rtt)
 */
import os from 'node:os';
import { connect as natsConnect } from '@nats-io/transport-node';
import { startApi, startWorker } from '../lib/procs.mjs';
import { startDelayProxy } from '../lib/delay-proxy.mjs';

/** Time budget (s): a full run's before/after at 0, 1 and 5 ms, or a quick run's. */
export const THROUGHPUT_BUDGET_S = { quick: 120, full: 900 };

/** Tokens per job: enough for a steady rate, few enough that one-event-per-token at 5 ms stays within the budget. */
const TOKENS = { full: { 0: 20_000, 1: 10_000, 5: 4_000 }, quick: { 0: 5_000, 1: 2_000, 5: 1_000 } };
const tokensFor = (quick, rtt, override) =>
  override ?? TOKENS[quick ? 'quick' : 'full'][rtt] ?? Math.max(1_000, Math.round(20_000 / (1 + rtt)));

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 0) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** The echo input of `tokens` tokens, and the text they make. */
function echoInput(tokens) {
  const per = Math.min(1_000, tokens);
  const base = Array.from({ length: per }, (_, i) => `t${i} `).join('');
  const repeat = Math.ceil(tokens / per);
  return { input: { message: base, repeat, delay_ms: 0 }, text: base.repeat(repeat), tokens: per * repeat };
}

/** Creates the job and reads its SSE stream to the end: timings, event counts, the text. */
async function runJob(api, input) {
  const posted = performance.now();
  const created = await fetch(`${api.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'echo', input }),
  });
  const job = await created.json();
  if (!created.ok) throw new Error(`POST /v1/jobs: ${created.status} ${JSON.stringify(job)}`);
  const res = await fetch(`${api.url}/v1/jobs/${job.id}/stream`, { headers: { accept: 'text/event-stream' } });
  if (!res.ok) throw new Error(`stream: ${res.status}`);
  const decoder = new TextDecoder();
  let buf = '';
  const r = { posted, events: 0, tokenEvents: 0, text: '', runningTs: 0, endWall: 0, end: 0, dense: true, last: null };
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (!data) continue;
      const e = JSON.parse(data);
      r.events++;
      if (e.seq !== r.events) r.dense = false;
      if (e.type === 'status' && e.status === 'running') r.runningTs = Date.parse(e.ts);
      if (e.type === 'token') {
        r.tokenEvents++;
        r.text += e.text;
      }
      if (e.type === 'done' || e.type === 'error' || e.type === 'cancelled') {
        r.end = performance.now();
        r.endWall = Date.now();
        r.last = e;
      }
    }
    if (r.last) break;
  }
  return r;
}

/** The round trip a NATS client sees through `url` (median of 7 pings, ms). */
async function natsRtt(url) {
  const nc = await natsConnect({ servers: url });
  try {
    const xs = [];
    for (let i = 0; i < 7; i++) xs.push(await nc.rtt());
    return median(xs);
  } finally {
    await nc.close();
  }
}

/** One setting (rtt, coalescing on/off): its processes, then the reps. */
async function setting(ctx, api, { rtt, coalesce, tokens, reps, log }) {
  const proxy = rtt > 0 ? await startDelayProxy(ctx.nats.url, rtt) : null;
  const natsUrl = proxy?.url ?? ctx.nats.url;
  let worker;
  try {
    worker = await startWorker({
      nats: { url: natsUrl },
      redis: ctx.redis,
      env: { WORKER_CONCURRENCY: '1', COALESCE_TEXT_EVENTS: coalesce ? 'true' : 'false' },
    });
    const measuredRtt = await natsRtt(natsUrl);
    const { input, text, tokens: n } = echoInput(tokens);
    await runJob(api, echoInput(200).input); // warm-up: connections, JIT
    const runs = [];
    for (let i = 0; i < reps; i++) {
      const j = await runJob(api, input);
      const exact = j.text === text && j.dense && j.last?.type === 'done';
      // from the worker's start of the job (its `status: running`, stamped by the log) to the client holding all text
      const seconds = (j.endWall - j.runningTs) / 1000;
      const run = {
        tokens_per_s: round(n / seconds),
        // from the POST: dispatch, the worker's start and the first append included
        e2e_tokens_per_s: round(n / ((j.end - j.posted) / 1000)),
        token_events: j.tokenEvents,
        events_per_token: round(j.tokenEvents / n, 4),
        exact,
        seconds: round(seconds, 2),
      };
      log(`  throughput rtt=${rtt} coalesce=${coalesce ? 'on' : 'off'} rep ${i + 1}: ${JSON.stringify(run)}`);
      if (!exact) throw new Error(`rtt=${rtt} coalesce=${coalesce}: the text or seq the client got is not exact`);
      runs.push(run);
    }
    return {
      rtt_ms: rtt,
      measured_rtt_ms: round(measuredRtt, 2),
      coalesce: coalesce ? 'on' : 'off',
      tokens: n,
      tokens_per_s: round(median(runs.map((x) => x.tokens_per_s))),
      e2e_tokens_per_s: round(median(runs.map((x) => x.e2e_tokens_per_s))),
      events_per_token: round(median(runs.map((x) => x.events_per_token)), 4),
      exact: runs.every((x) => x.exact),
      runs,
    };
  } finally {
    await worker?.stop();
    await proxy?.close();
  }
}

/** The scenario (see the header). `h`: { quick, reps, log, args }. */
export async function scenarioThroughput(ctx, results, h) {
  const arg = (name) => h.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const rtts = (arg('rtt') ?? (h.quick ? '0,1' : '0,1,5')).split(',').map(Number);
  const modes = (arg('coalesce') ?? 'on,off').split(',').map((m) => m === 'on');
  const override = arg('throughput-tokens') ? Number(arg('throughput-tokens')) : undefined;
  const load0 = os.loadavg()[0];
  h.log(
    `throughput: one echo job as fast as it can, rtt ${rtts.join(',')} ms, coalescing ${modes.map((m) => (m ? 'on' : 'off')).join(',')}, ${h.reps} rep(s)`,
  );
  const settings = [];
  // one API process for every setting (the worker, behind the proxy, is the setting's)
  const api = await startApi({ nats: ctx.nats, redis: ctx.redis, env: { EMBEDDED_WORKER: 'false' } });
  try {
    for (const rtt of rtts)
      for (const coalesce of modes) {
        const tokens = tokensFor(h.quick, rtt, override);
        settings.push(await setting(ctx, api, { rtt, coalesce, tokens, reps: h.reps, log: h.log }));
      }
  } finally {
    await api.stop();
  }
  results.throughput = {
    settings,
    load_average_1m: { start: round(load0, 2), end: round(os.loadavg()[0], 2) },
    method:
      'worker process → delay proxy (+rtt on the worker→NATS direction) → nats-server → API process → 1 SSE client',
  };
  h.log('  | rtt (measured ms) | coalescing | tokens | tokens/s | e2e tokens/s | events/token |');
  for (const s of settings)
    h.log(
      `  | ${s.rtt_ms} (${s.measured_rtt_ms}) | ${s.coalesce} | ${s.tokens} | ${s.tokens_per_s} | ${s.e2e_tokens_per_s} | ${s.events_per_token} |`,
    );
}
