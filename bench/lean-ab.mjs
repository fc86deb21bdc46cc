/**
 * The event log's lean JetStream paths against nats.js v3's own API, in one process on a private nats-server:
 * `node bench/lean-ab.mjs [reps]` after `npm run build`. Per rep, alternating which goes first:
 * - publish: 2,000 appends (`Nats-Msg-Id` + expected last subject sequence, 50 in flight) with the lean publisher
 *   (libs/event-log jetstream-publisher.ts) vs `js.publish`;
 * - get: 2,000 direct gets (`last_by_subj`, 50 in flight) with the lean getter (jetstream-direct-get.ts) vs
 *   `jsm.direct.getMessage`;
 * - replay: one subject of 10,000 events read from the start with the lean ordered reader (lean-ordered-reader.ts)
 *   vs v3's ordered consumer (`js.consumers.get(stream, { filter_subjects })` + `consume()`).
 * Prints this process's CPU per operation (user + system, µs) and the rate, medians over the reps; the server's CPU
 * is not counted. A lean path is kept only where it is cheaper (bench/README.md, "nats.js v3").
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNats, killAll } from './lib/procs.mjs';

const REPS = Number(process.argv[2] ?? 5);
const dist = (f) => import(pathToFileURL(join(process.cwd(), 'libs/event-log/dist', f)).href);
const { JetStreamPublisher } = await dist('jetstream-publisher.js');
const { JetStreamDirectGet } = await dist('jetstream-direct-get.js');
const { LeanOrderedReader } = await dist('lean-ordered-reader.js');

const enc = new TextEncoder();
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
async function measure(n, fn) {
  const c0 = cpuUs();
  const t0 = performance.now();
  await fn();
  return { cpu: (cpuUs() - c0) / n, rate: (n * 1000) / (performance.now() - t0) };
}
/** `n` calls of `one(i)`, `width` in flight. */
async function inFlight(n, width, one) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await one(next++);
    }),
  );
}

const nats = await startNats();
const nc = await connect({ servers: nats.url, noAsyncTraces: true });
try {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: 'LEANAB', subjects: ['leanab.>'], allow_direct: true, duplicate_window: 60e9 });
  const pub = new JetStreamPublisher(nc, 5_000);
  const get = new JetStreamDirectGet(nc, 'LEANAB', 5_000);
  const body = enc.encode(JSON.stringify({ seq: 1, type: 'token', text: 'x'.repeat(40), ts: Date.now() }));
  const N = 2_000;
  const results = { publish: { lean: [], v3: [] }, get: { lean: [], v3: [] }, replay: { lean: [], v3: [] } };
  // 10,000 events to replay
  await inFlight(10_000, 100, (i) => pub.publish('leanab.replay', body, { msgID: `r${i}` }));
  let round = 0;
  for (let r = 0; r < REPS; r++) {
    const order = r % 2 ? ['v3', 'lean'] : ['lean', 'v3'];
    for (const kind of order) {
      round++;
      // appends: 50 subjects, each with its expected last subject sequence (as the log appends)
      const last = new Map();
      const append =
        kind === 'lean'
          ? (s, i, exp) => pub.publish(s, body, { msgID: `${s}:${i}`, lastSubjectSequence: exp })
          : (s, i, exp) => js.publish(s, body, { msgID: `${s}:${i}`, expect: { lastSubjectSequence: exp } });
      results.publish[kind].push(
        await measure(N, () =>
          inFlight(N, 50, async (i) => {
            const s = `leanab.p${round}.${i % 50}`;
            const ack = await append(s, i, last.get(s) ?? 0);
            last.set(s, ack.seq);
          }),
        ),
      );
      const subjects = [...last.keys()];
      const one =
        kind === 'lean'
          ? (s) => get.get({ last_by_subj: s })
          : (s) => jsm.direct.getMessage('LEANAB', { last_by_subj: s });
      results.get[kind].push(await measure(N, () => inFlight(N, 50, (i) => one(subjects[i % subjects.length]))));
      results.replay[kind].push(
        await measure(10_000, async () => {
          let n = 0;
          if (kind === 'lean') {
            const reader = await LeanOrderedReader.open(nc, jsm, {
              stream: 'LEANAB',
              subject: 'leanab.replay',
              startSeq: 1,
            });
            let done = false;
            while (!done) await reader.pull((_d, _s, pending) => (n++, (done = pending === 0), !done));
            reader.close();
          } else {
            const c = await js.consumers.get('LEANAB', { filter_subjects: 'leanab.replay' });
            const it = await c.consume();
            for await (const m of it) {
              n++;
              if (m.info.pending === 0) break;
            }
            await it.close();
            await c.delete().catch(() => {});
          }
          if (n !== 10_000) throw new Error(`replay read ${n} events`);
        }),
      );
    }
  }
  pub.close();
  get.close();
  const out = {};
  for (const [op, byKind] of Object.entries(results)) {
    out[op] = {};
    for (const [kind, rs] of Object.entries(byKind))
      out[op][kind] = {
        cpu_us: Math.round(median(rs.map((x) => x.cpu)) * 10) / 10,
        per_s: Math.round(median(rs.map((x) => x.rate))),
      };
    out[op].cpu_ratio = Math.round((out[op].v3.cpu_us / out[op].lean.cpu_us) * 100) / 100;
  }
  console.log(JSON.stringify({ reps: REPS, ...out }, null, 2));
} finally {
  await nc.close();
  await nats.stop();
  killAll();
}
