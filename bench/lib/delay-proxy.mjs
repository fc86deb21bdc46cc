/**
 * A TCP proxy that adds round-trip time between a client (the worker) and a server (nats-server): every chunk the
 * client sends is forwarded `rttMs` later, in order; the answers come back at once. Only the sum of the two
 * directions matters to a request/answer loop, and one delay keeps it above the 1 ms timer granularity (two halves
 * of 0.5 ms would each be rounded up to 1 ms). The round trip really added is measured by the scenario (NATS ping).
 */
import net from 'node:net';

/** Forwards `from` to `to`, each chunk `delayMs` after it arrived, keeping order. */
function delayed(from, to, delayMs) {
  if (delayMs <= 0) {
    from.pipe(to);
    return;
  }
  const queue = [];
  let timer = null;
  const flush = () => {
    timer = null;
    const now = performance.now();
    while (queue.length && queue[0].due <= now + 0.05) to.write(queue.shift().chunk);
    if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
  };
  from.on('data', (chunk) => {
    queue.push({ chunk, due: performance.now() + delayMs });
    if (!timer) timer = setTimeout(flush, delayMs);
  });
  from.on('end', () => {
    const close = () => (queue.length ? setTimeout(close, delayMs) : to.end());
    close();
  });
}

/** Starts the proxy on a free loopback port in front of `target` (`nats://host:port`); `{ url, close }`. */
export async function startDelayProxy(target, rttMs) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: hostname, port: Number(port) });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    delayed(client, upstream, rttMs);
    delayed(upstream, client, 0);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `nats://127.0.0.1:${server.address().port}`;
  return {
    url,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
