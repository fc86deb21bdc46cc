/**
 * The peer: Vercel's `resumable-stream` (ioredis flavour) behind a minimal `node:http` SSE server, the way its
 * README serves it (one producer stream, followers via `resumeExistingStream`), over the bench's Redis.
 *
 * POST /create?id=&n=  starts a producer whose source waits for POST /go, then yields n token frames + done.
 * GET  /stream?id=     a follower: resumeExistingStream piped to the response.
 */
import http from 'node:http';
import { Redis } from 'ioredis';
import rs from 'resumable-stream/ioredis';
import { SSE_HEADERS, tokenFrame, doneFrame } from './lib/frames.mjs';

const redisUrl = process.env.REDIS_URL;
const ctx = rs.createResumableStreamContext({
  waitUntil: (p) => void p.catch(() => {}),
  publisher: new Redis(redisUrl),
  subscriber: new Redis(redisUrl),
  keyPrefix: `bench-${process.pid}`,
});

let go;
let goPromise = new Promise((r) => (go = r));

function makeStream(n) {
  let seq = 0;
  return () =>
    new ReadableStream({
      async pull(controller) {
        await goPromise;
        seq++;
        if (seq <= n) controller.enqueue(tokenFrame(seq));
        else {
          controller.enqueue(doneFrame(seq, n));
          controller.close();
        }
      },
    });
}

async function drain(stream) {
  const reader = stream.getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) return;
  }
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  try {
    if (req.method === 'POST' && url.pathname === '/create') {
      goPromise = new Promise((r) => (go = r));
      const stream = await ctx.createNewResumableStream(
        url.searchParams.get('id'),
        makeStream(Number(url.searchParams.get('n') ?? 2000)),
      );
      void drain(stream);
      res.end('ok');
      return;
    }
    if (req.method === 'POST' && url.pathname === '/go') {
      go();
      res.end('ok');
      return;
    }
    if (req.method === 'GET' && url.pathname === '/stream') {
      const stream = await ctx.resumeExistingStream(url.searchParams.get('id'));
      if (!stream) {
        res.statusCode = 422;
        res.end();
        return;
      }
      req.socket.setNoDelay(true);
      res.writeHead(200, SSE_HEADERS);
      res.write(': keepalive\n\n');
      const reader = stream.getReader();
      res.on('close', () => void reader.cancel().catch(() => {}));
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(value);
      }
      res.end();
      return;
    }
    res.statusCode = 404;
    res.end();
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err));
  }
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.send?.({ ready: true, port: server.address().port });
});
process.on('disconnect', () => process.exit(0));
