/**
 * Conversations benchmark: `npm run build && node bench/threads.mjs [--turns=N] [--interrupts=N] [--races=N]`.
 *
 * Private nats-server + redis-server, two API processes (`dist/src/main.js`, EMBEDDED_WORKER=true) on them:
 * - turn round trip: POST /v1/threads/:id/jobs then GET /wait until completed, sequential turns of one thread
 *   (the worker reads the whole history at each start, so late turns show its cost);
 * - interrupt hand-over: the gap between the interrupted turn's `finished_at` and the next turn's `started_at`;
 * - reject races: two simultaneous turn creations on the two API processes; counts winners per race.
 * Prints JSON; figures go to bench/README.md by hand.
 */
import { startApi, startNats, startRedis, killAll } from './lib/procs.mjs';

const arg = (name, def) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const TURNS = arg('turns', 60);
const INTERRUPTS = arg('interrupts', 20);
const RACES = arg('races', 50);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 10) / 10 : null;
};
const post = async (url, body) => {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
};
const wait = async (base, id) => (await fetch(`${base}/v1/jobs/${id}/wait?timeout_s=30`)).json();

const [nats, redis] = await Promise.all([startNats(), startRedis()]);
const [a, b] = await Promise.all([startApi({ nats, redis }), startApi({ nats, redis })]);
try {
  // 1. round trips of sequential turns
  const thread = (await post(`${a.url}/v1/threads`, { agent: 'echo' })).body.id;
  const rtt = [];
  for (let i = 0; i < TURNS; i++) {
    const t0 = performance.now();
    const j = (await post(`${a.url}/v1/threads/${thread}/jobs`, { input: { message: `turn ${i} says hello world` } }))
      .body;
    const done = await wait(a.url, j.id);
    if (done.status !== 'completed') throw new Error(`turn ${i} ${done.status}`);
    rtt.push(performance.now() - t0);
  }
  const first = rtt.slice(0, 10);
  const last = rtt.slice(-10);

  // 2. interrupt hand-over
  const gaps = [];
  for (let i = 0; i < INTERRUPTS; i++) {
    const t = (await post(`${a.url}/v1/threads`, { agent: 'echo' })).body.id;
    const slow = (
      await post(`${a.url}/v1/threads/${t}/jobs`, { input: { message: 'a b c d e f g h', repeat: 50, delay_ms: 20 } })
    ).body;
    for (;;) {
      const s = (await (await fetch(`${a.url}/v1/jobs/${slow.id}`)).json()).status;
      if (s === 'running') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const next = (await post(`${b.url}/v1/threads/${t}/jobs`, { input: { message: 'stop' }, if_busy: 'interrupt' }))
      .body;
    const [d1, d2] = [await wait(b.url, slow.id), await wait(b.url, next.id)];
    if (d1.status !== 'cancelled' || d2.status !== 'completed')
      throw new Error(`interrupt ${i}: ${d1.status}/${d2.status}`);
    gaps.push(Date.parse(d2.started_at) - Date.parse(d1.finished_at));
  }

  // 3. reject races on two API processes
  let exactlyOne = 0;
  for (let i = 0; i < RACES; i++) {
    const t = (await post(`${a.url}/v1/threads`, { agent: 'echo' })).body.id;
    // a turn that cannot end during the race (60 s pause after its first token); cancelled afterwards
    const rs = await Promise.all(
      [a, b].map((p) => post(`${p.url}/v1/threads/${t}/jobs`, { input: { message: 'hold on', delay_ms: 60_000 } })),
    );
    if (rs.filter((r) => r.status === 201).length === 1 && rs.filter((r) => r.status === 409).length === 1)
      exactlyOne++;
    else console.error('race', i, JSON.stringify(rs.map((r) => r.status)));
    for (const r of rs) if (r.status === 201) await post(`${a.url}/v1/jobs/${r.body.id}/cancel`, {});
  }

  console.log(
    JSON.stringify(
      {
        engine: 'JetStream + Redis, 2 API processes with in-process workers',
        turn_round_trip_ms: {
          turns: TURNS,
          p50: pct(rtt, 50),
          p95: pct(rtt, 95),
          first10_p50: pct(first, 50),
          last10_p50: pct(last, 50),
        },
        interrupt_handover_ms: { n: INTERRUPTS, p50: pct(gaps, 50), p95: pct(gaps, 95), max: pct(gaps, 100) },
        reject_races: { races: RACES, exactly_one_winner: exactlyOne },
      },
      null,
      2,
    ),
  );
} finally {
  killAll();
}
