/**
 * Chat-like SSE clients for the `chat` scenario (bench/README.md): each client streams one job from its start, may
 * drop its connection once and come back with `Last-Event-ID` (the `id` of the last frame it got), and checks
 * what it received across its connections: every seq from 1 to the terminal event exactly once, in order.
 *
 * Raw `net` sockets like ./sse-client.mjs. Frames are found by scanning the (chunked) byte stream for
 * `id: …\nevent: …\ndata: …\n\n`: the server writes whole frames per chunk, so chunk-size lines never split one.
 * Latency = receive time − the event's `ts`, for token events appended after the current connection opened.
 */
import net from 'node:net';
import { HIST_MS } from './sse-client.mjs';

const FRAME = /id: ([^\n]+)\nevent: ([^\n]+)\ndata: ([^\n]*)\n\n/g;
const TERMINAL = new Set(['done', 'error', 'cancelled']);

export function newChatStats() {
  return {
    clients: 0,
    finished: 0,
    exact: 0,
    gaps: 0,
    dups: 0,
    drops: 0,
    resumes: 0,
    failed: 0,
    tokens: 0,
    events: 0,
    first: Infinity,
    last: 0,
    hist: null,
    errors: [],
  };
}

/**
 * Runs one client to the end of its job. `dropAfterMs` (or null): destroys the connection that long after it
 * opened and reconnects `pauseMs` later with Last-Event-ID. Resolves when the terminal event arrived or on failure.
 */
export function chatClient({
  host = '127.0.0.1',
  port,
  resumePort = port,
  path,
  dropAfterMs = null,
  pauseMs = 200,
  stats,
  deadline,
}) {
  stats.clients++;
  let expected = 1; // next seq this client must receive
  let lastId = null;
  let ok = true;
  let dropped = false;
  let attempts = 0;
  return new Promise((resolve) => {
    const finish = (why) => {
      if (why) {
        ok = false;
        if (stats.errors.length < 5) stats.errors.push(why);
        stats.failed++;
      } else {
        stats.finished++;
        if (ok) stats.exact++;
      }
      resolve();
    };
    const connect = () => {
      if (Date.now() > deadline) return finish(`${path}: deadline passed before the end (at seq ${expected - 1})`);
      attempts++;
      // a resume may land on another API process (resumePort): a client behind a load balancer
      const sock = net.connect({ host, port: lastId ? resumePort : port });
      sock.setNoDelay(true);
      let head = true;
      let text = '';
      let openedAt = 0;
      let ended = false;
      let dropTimer = null;
      const extra = lastId ? `Last-Event-ID: ${lastId}\r\n` : '';
      sock.on('connect', () =>
        sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n${extra}\r\n`),
      );
      const close = (then) => {
        if (ended) return;
        ended = true;
        clearTimeout(dropTimer);
        sock.destroy();
        then?.();
      };
      sock.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (head) {
          const end = text.indexOf('\r\n\r\n');
          if (end < 0) return;
          head = false;
          if (!text.startsWith('HTTP/1.1 200')) {
            const status = text.slice(0, text.indexOf('\r\n'));
            // refused (e.g. 503 on a saturated API): come back like a real client
            return close(() => (attempts < 20 ? setTimeout(connect, pauseMs) : finish(`${path}: ${status}`)));
          }
          openedAt = Date.now();
          text = text.slice(end + 4);
          if (dropAfterMs !== null && !dropped) {
            dropTimer = setTimeout(() => {
              dropped = true;
              stats.drops++;
              close(() =>
                setTimeout(() => {
                  stats.resumes++;
                  connect();
                }, pauseMs),
              );
            }, dropAfterMs);
          }
        }
        const now = Date.now();
        FRAME.lastIndex = 0;
        let m;
        let consumed = 0;
        while ((m = FRAME.exec(text)) !== null) {
          consumed = FRAME.lastIndex;
          const [, id, type, data] = m;
          const s = /"seq":(\d+)/.exec(data);
          const seq = s ? Number(s[1]) : NaN;
          stats.events++;
          if (seq < expected) {
            stats.dups++;
            ok = false;
          } else if (seq > expected) {
            // a jump is only allowed onto the attempt event that voids a rolled-back attempt (never in this bench)
            stats.gaps++;
            ok = false;
          }
          expected = Math.max(expected, seq + 1);
          lastId = id;
          if (type === 'token') {
            stats.tokens++;
            if (now < stats.first) stats.first = now;
            if (now > stats.last) stats.last = now;
            const t = data.indexOf('"ts":"');
            const ts = t >= 0 ? Date.parse(data.slice(t + 6, t + 30)) : NaN;
            if (ts >= openedAt) {
              stats.hist ??= new Uint32Array(HIST_MS + 1);
              stats.hist[Math.min(HIST_MS, Math.max(0, now - ts))]++;
            }
          }
          if (TERMINAL.has(type)) return close(() => finish(null));
        }
        if (consumed) text = text.slice(consumed);
      });
      // the server ended the response (or the socket) before the terminal event: resume like a client would
      const lost = () => close(() => setTimeout(connect, pauseMs));
      sock.on('end', lost);
      sock.on('close', lost);
      sock.on('error', () => {});
    };
    connect();
  });
}

/** Runs `specs` ({ port, path, dropAfterMs }) concurrently; resolves once every client has finished or failed. */
export async function runChat(specs, stats, { deadlineMs, parallel = 100 }) {
  const deadline = Date.now() + deadlineMs;
  const running = [];
  let next = 0;
  // connections are opened at most `parallel` at a time (handshakes), then they run concurrently
  async function lane() {
    while (next < specs.length) {
      const s = specs[next++];
      running.push(chatClient({ ...s, stats, deadline }));
      await new Promise((r) => setImmediate(r));
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, specs.length) }, lane));
  await Promise.all(running);
}
