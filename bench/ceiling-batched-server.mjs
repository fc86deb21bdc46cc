/**
 * The per-turn ceiling: a minimal `node:http` SSE server fed by the SAME live events as jobstream's API (the
 * JetStream republish subject `jobstream.live.<job>`, appended by the real worker process), writing them exactly as
 * the SSE writer does (`src/sse/sse-writer.ts`): one frame built once per event, frames of one event-loop turn
 * joined per connection and handed to `res.write` once by one shared `setImmediate` flusher (the writer's own
 * `TurnFlusher`, imported from dist/). No Nest, Express, RxJS, hub, sequencer, validation, tenancy, back-pressure
 * or slow-client checks: what one Node process can do with the same input and the same write pattern.
 *
 * GET /stream?job=<id> subscribes to the job's live subject (once per job, before the response head is sent, so
 * every event after it is delivered), streams every event as a frame, and ends the responses after a terminal one.
 */
import http from 'node:http';
import { connect } from '@nats-io/transport-node';
import { listenForRunner, notFound } from './lib/helper-server.mjs';
import { SSE_HEADERS } from './lib/frames.mjs';
import { TurnFlusher } from '../dist/src/sse/sse-writer.js';

const nc = await connect({ servers: process.env.NATS_URL, name: 'bench-ceiling' });
const flusher = new TurnFlusher();
const decoder = new TextDecoder();
/** job id → { conns: Set<conn>, sub } */
const jobs = new Map();

function conn(res) {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    res.write(chunk);
  };
  return {
    res,
    write(frame) {
      if (pending === '') flusher.schedule(flush);
      pending += frame;
    },
    end() {
      const last = pending;
      pending = '';
      res.end(last || undefined);
    },
  };
}

async function join(jobId) {
  let j = jobs.get(jobId);
  if (j) return j;
  j = { conns: new Set(), sub: null };
  jobs.set(jobId, j);
  const entry = j;
  j.sub = nc.subscribe(`jobstream.live.${jobId}`, {
    callback: (err, m) => {
      if (err) return;
      const pos = Number(m.headers?.get('Nats-Sequence'));
      const json = decoder.decode(m.data);
      const ev = JSON.parse(json); // as the API does (parseStored)
      const frame = `id: ${ev.seq}-${pos}-abcdef\nevent: ${ev.type}\ndata: ${json}\n\n`;
      for (const c of entry.conns) c.write(frame);
      if (ev.type === 'done' || ev.type === 'error' || ev.type === 'cancelled') {
        for (const c of entry.conns) c.end();
        entry.conns.clear();
        entry.sub.unsubscribe();
        jobs.delete(jobId);
      }
    },
  });
  await nc.flush();
  return j;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/stream' && url.searchParams.get('job')) {
    const j = await join(url.searchParams.get('job'));
    req.socket.setNoDelay(true);
    res.writeHead(200, SSE_HEADERS);
    res.write('retry: 2000\n: keepalive\n\n');
    const c = conn(res);
    j.conns.add(c);
    res.on('close', () => j.conns.delete(c));
    return;
  }
  notFound(res);
});
listenForRunner(server);
