/**
 * The ceiling: a minimal `node:http` SSE server in its own process. Clients GET /stream; POST /go?n=N then writes
 * N token frames (built once per event, like jobstream) to every client, one event per event-loop turn, then a
 * `done` frame, and ends the responses. What one Node process can do with plain `res.write`, nothing else.
 */
import http from 'node:http';
import { listenForRunner, notFound } from './lib/helper-server.mjs';
import { SSE_HEADERS, tokenFrame, doneFrame } from './lib/frames.mjs';

const clients = new Set();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/stream') {
    req.socket.setNoDelay(true);
    res.writeHead(200, SSE_HEADERS);
    res.write('retry: 2000\n: keepalive\n\n');
    clients.add(res);
    res.on('close', () => clients.delete(res));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/go') {
    const n = Number(url.searchParams.get('n') ?? 2000);
    res.end('ok');
    let seq = 0;
    const step = () => {
      seq++;
      if (seq > n) {
        const f = doneFrame(seq, n);
        for (const c of clients) c.end(f);
        return;
      }
      const f = tokenFrame(seq);
      for (const c of clients) c.write(f);
      setImmediate(step);
    };
    setImmediate(step);
    return;
  }
  notFound(res);
});
listenForRunner(server);
