/**
 * The idle-connection reference of the `connections` scenario: a bare `node:http` SSE server doing only what an idle
 * jobstream stream does. GET /stream (any path): setNoDelay/keepAlive like the SSE writer, the same headers, the
 * same opening frame (`retry:` + a keepalive comment); then one shared timer writes a keepalive comment to every open
 * connection once per HEARTBEAT_MS (`SLICES=10`: like the SSE writer's scheduler, 10 ticks per interval, each
 * writing to one bucket of connections), as the same pre-built HTTP/1.1 chunk the SSE writer hands to the socket
 * (`KEEPALIVE_MODE=res`: `res.write` per connection instead, Node's own chunk framing). No Nest, Express, router,
 * logger, metrics, job lookup or hub: the floor for RSS per connection and keepalive CPU in the same run.
 */
import http from 'node:http';
import { SSE_HEADERS } from './lib/frames.mjs';

const intervalMs = Number(process.env.HEARTBEAT_MS ?? 1000);
const viaRes = process.env.KEEPALIVE_MODE === 'res';
const FRAME = ': keepalive\n\n';
const CHUNK = Buffer.from(`${Buffer.byteLength(FRAME).toString(16)}\r\n${FRAME}\r\n`, 'latin1');

/** `SLICES=N`: N ticks per interval, each writing to one of N buckets of connections (filled in turn). */
const slices = Number(process.env.SLICES ?? 1);
const buckets = Array.from({ length: slices }, () => new Set());
let opened = 0;
const server = http.createServer((req, res) => {
  const socket = req.socket;
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  socket.setTimeout(0);
  res.writeHead(200, SSE_HEADERS);
  res.write('retry: 2000\n: keepalive\n\n');
  const bucket = buckets[opened++ % slices];
  bucket.add(res);
  res.on('close', () => bucket.delete(res));
});
let tick = 0;
setInterval(() => {
  for (const res of buckets[tick++ % slices]) {
    if (viaRes) res.write(FRAME);
    else res.socket?.write(CHUNK);
  }
}, intervalMs / slices).unref();
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.send?.({ ready: true, port: server.address().port });
});
process.on('disconnect', () => process.exit(0));
