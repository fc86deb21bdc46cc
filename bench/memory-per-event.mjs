/**
 * Memory per retained event in the embedded engine's event log (MemoryEventLog), measured from the heap:
 * `node --expose-gc bench/memory-per-event.mjs [events]` after `npm run build`.
 *
 * For each event shape (short echo tokens, 40-character tokens, 1 KiB tokens), appends N events to one job through
 * the real driver, forces GC, and divides the heap growth by N. Also prints the driver's own byte estimate for the
 * same events, so the estimate EMBEDDED_MAX_BYTES is checked against can be compared with the real heap.
 */
import { MemoryEventLog } from '@jobstream/event-log';

if (typeof globalThis.gc !== 'function') {
  console.error('run with: node --expose-gc bench/memory-per-event.mjs');
  process.exit(1);
}
const N = Number(process.argv[2] ?? 200_000);

const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

const shapes = [
  { name: 'echo token (6 chars)', text: (i) => `w${i % 1000} ` },
  { name: 'token (40 chars)', text: () => 'x'.repeat(39) + ' ' },
  { name: 'token (1 KiB)', text: () => 'y'.repeat(1023) + ' ' },
];

const rows = [];
for (const shape of shapes) {
  const log = new MemoryEventLog({ retentionMs: 3_600_000, maxEvents: 10_000_000, maxBytes: 64 * 1024 ** 3 });
  const before = heap();
  for (let i = 0; i < N; i++) {
    await log.append('job_01M8EVBV0NC9CDY4Q1VF2S86QR', { event: { type: 'token', text: shape.text(i) }, attempt: 1 });
  }
  const after = heap();
  const est = log.size().bytes;
  rows.push({
    shape: shape.name,
    events: N,
    heap_bytes_per_event: Math.round((after - before) / N),
    estimate_bytes_per_event: Math.round(est / N),
  });
  await log.close();
}
console.table(rows);
console.log(JSON.stringify({ node: process.version, rows }));

// --app: the whole embedded process (`node dist/src/main.js`), RSS before and after one finished N-token echo job
if (process.argv.includes('--app')) {
  const { spawn } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { createServer } = await import('node:net');
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_CREATE_PER_MIN: '0',
      API_KEYS: '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // the child is killed whatever happens to this script
  process.on('exit', () => child.kill('SIGKILL'));
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) * 1024;
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health/ready`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 200) throw new Error('app did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const tokens = Number(process.env.APP_TOKENS ?? 1_000_000);
  const before = rss();
  const message = Array.from({ length: 1000 }, (_, i) => `w${i} `).join('');
  const res = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ agent: 'echo', input: { message, repeat: tokens / 1000 } }),
  });
  const job = await res.json();
  const started = Date.now();
  let status = '';
  try {
    while (!['completed', 'failed', 'cancelled'].includes(status)) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        status = (await (await fetch(`${base}/v1/jobs/${job.id}`)).json()).status;
      } catch {
        /* the process is busy appending; ask again */
      }
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const after = rss();
  const row = {
    tokens,
    status,
    seconds: (Date.now() - started) / 1000,
    rss_before_mib: +(before / 2 ** 20).toFixed(1),
    rss_after_mib: +(after / 2 ** 20).toFixed(1),
    rss_bytes_per_event: Math.round((after - before) / tokens),
  };
  console.table([row]);
  console.log(JSON.stringify({ app: row }));
  child.kill('SIGTERM');
}
