/**
 * What an idle SSE connection holds in the API's heap (issue 15, deliverable 3): `node bench/conn-heap.mjs [N=2000]`
 * (after `npm run build`). Starts a private NATS + Redis, a worker process and an API process (split path, like the
 * bench) with `--heapsnapshot-signal=SIGUSR2`, opens 10 warm-up connections to 10 idle jobs, takes a heap snapshot,
 * opens N more idle connections, takes another, and prints the difference per constructor (count and self size
 * per connection), the largest first. V8 heap only: socket buffers, the HTTP parser's native memory and malloc'd
 * memory are outside (compare with the RSS per connection of the bench's connections scenario).
 */
import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startNats, startRedis, startApi, startWorker, startClients, sleep, rssKb } from './lib/procs.mjs';

const N = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 2000);
/** `--keep=DIR`: keep the two snapshots there (before.heapsnapshot, after.heapsnapshot) for a closer look. */
const keep = process.argv.find((a) => a.startsWith('--keep='))?.slice(7);
const dir = mkdtempSync(join(tmpdir(), 'jobstream-heap-'));
if (keep) mkdirSync(keep, { recursive: true });

async function snapshot(api) {
  const before = new Set(readdirSync(dir));
  process.kill(api.pid, 'SIGUSR2');
  const end = Date.now() + 120_000;
  for (;;) {
    const f = readdirSync(dir).find((x) => !before.has(x) && x.endsWith('.heapsnapshot'));
    if (f) {
      // written when the size stops changing
      let size = -1;
      for (;;) {
        await sleep(500);
        const s = statSync(join(dir, f)).size;
        if (s === size && s > 0) break;
        size = s;
      }
      return join(dir, f);
    }
    if (Date.now() > end) throw new Error('no heap snapshot');
    await sleep(200);
  }
}

function byConstructor(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const w = f.length;
  const out = new Map();
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += w) {
    const type = types[nodes[i + iType]];
    const name =
      type === 'object' || type === 'closure' || type === 'native' ? snap.strings[nodes[i + iName]] : `(${type})`;
    const key = type === 'closure' ? `closure ${name || '(anonymous)'}` : name;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + iSize];
    out.set(key, e);
  }
  return out;
}

const nats = await startNats();
const redis = await startRedis();
const worker = await startWorker({ nats, redis, env: { WORKER_CONCURRENCY: '16' } });
const api = await startApi({
  nats,
  redis,
  env: { EMBEDDED_WORKER: 'false', HEARTBEAT_MS: '1000' },
  nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
});
const clients = await startClients(2);
try {
  const post = async (body) =>
    (
      await fetch(`${api.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json();
  const jobs = await Promise.all(
    Array.from({ length: 10 }, () =>
      post({ agent: 'echo', input: { message: 'a b c d e f g h i j', delay_ms: 60_000 } }),
    ),
  );
  await sleep(2000);
  await clients.open(
    api.port,
    jobs.map((j) => `/v1/jobs/${j.id}/stream`),
    'idle',
  );
  await sleep(1500);
  const rss0 = rssKb(api.pid);
  const fa = await snapshot(api);
  if (keep) copyFileSync(fa, join(keep, 'before.heapsnapshot'));
  const a = byConstructor(fa);
  await clients.open(
    api.port,
    Array.from({ length: N }, (_, i) => `/v1/jobs/${jobs[i % 10].id}/stream`),
    'idle',
    100,
  );
  await sleep(3000);
  const rss1 = rssKb(api.pid);
  const fb = await snapshot(api);
  if (keep) copyFileSync(fb, join(keep, 'after.heapsnapshot'));
  const b = byConstructor(fb);
  const rows = [];
  let total = 0;
  for (const [k, v] of b) {
    const o = a.get(k) ?? { count: 0, size: 0 };
    const d = { key: k, count: (v.count - o.count) / N, bytes: (v.size - o.size) / N };
    total += v.size - o.size;
    if (Math.abs(d.bytes) >= 8) rows.push(d);
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  console.log(
    `${N} idle connections: V8 heap +${(total / N / 1024).toFixed(1)} KiB per connection (RSS +${((rss1 - rss0) / N).toFixed(1)} KiB)`,
  );
  console.log('per connection:   count     bytes  constructor / kind');
  for (const r of rows.slice(0, 40))
    console.log(`${r.count.toFixed(2).padStart(18)} ${r.bytes.toFixed(0).padStart(9)}  ${r.key}`);
} finally {
  await clients.stop();
  await api.stop();
  await worker.stop();
  await nats.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
