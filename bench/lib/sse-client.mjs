/**
 * A minimal SSE client over raw `net` sockets, cheap enough that thousands of them in one process do not dominate
 * the machine. It does not decode chunked transfer encoding: it scans the byte stream for frame markers
 * (`event: token`), which chunk-size lines never split because every server here writes whole frames. The end of
 * a stream is the last chunk (`0\r\n\r\n`) of the chunked response, as the socket may stay open for keep-alive.
 *
 * Modes:
 * - `count`:   counts tokens (`tok ` words of `token` frames, at least one a frame), first/last receive time
 *              (fan-out, peer, replay).
 * - `latency`: also parses each token's `ts` (append time) and records receive − ts in a 1 ms histogram, for events
 *              appended after the connection was open (earlier ones are replay, not live latency) and not before
 *              `stats.measureFrom` if set.
 * - `idle`:    reads and discards (connection cost).
 */
import net from 'node:net';

const TOKEN = Buffer.from('event: token\n');
const TOKEN_S = 'event: token\n';
const LAST_CHUNK = Buffer.from('\r\n0\r\n\r\n');
const FRAME_END = Buffer.from('\n\n');
/** The text of one token of the bench's jobs (`message: 'tok '`) and of the ceiling's and peer's frames. */
const WORD = Buffer.from('tok ');

/** How many times `word` stands in `buf` between `from` and `to`. */
function occurrences(buf, word, from, to) {
  let n = 0;
  for (let k = buf.indexOf(word, from); k >= 0 && k + word.length <= to; k = buf.indexOf(word, k + word.length)) n++;
  return n;
}
export const HIST_MS = 60_000;

export function newStats() {
  return { opened: 0, failed: 0, ended: 0, tokens: 0, bytes: 0, first: Infinity, last: 0, hist: null, firstToken: [] };
}

/**
 * Opens one SSE connection. Resolves once the response head arrived (status 200) or rejects.
 * `onEnd` is called once when the server closes the response.
 */
export function openSse({ host = '127.0.0.1', port, path, headers = {}, mode = 'count', stats, onFirstToken, onEnd }) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    let head = true;
    let headBuf = '';
    let carry = '';
    let carryBuf = null;
    let openedAt = 0;
    let sawToken = false;
    let tail = Buffer.alloc(0);
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    sock.on('connect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n${extra}\r\n`);
    });
    const tokenSeen = (now, ts) => {
      if (!sawToken) {
        sawToken = true;
        onFirstToken?.(now, ts);
      }
      if (now < stats.first) stats.first = now;
      if (now > stats.last) stats.last = now;
    };
    sock.on('data', (chunk) => {
      stats.bytes += chunk.length;
      let body = chunk;
      if (head) {
        headBuf += chunk.toString('latin1');
        const end = headBuf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = false;
        if (!/^HTTP\/1\.1 200/.test(headBuf)) {
          stats.failed++;
          sock.destroy();
          reject(new Error(`status: ${headBuf.slice(0, headBuf.indexOf('\r\n'))}`));
          return;
        }
        openedAt = Date.now();
        stats.opened++;
        resolve(sock);
        body = Buffer.from(headBuf.slice(end + 4), 'latin1');
        headBuf = '';
      }
      // The end of a chunked response (the socket itself may stay open for keep-alive).
      const t = body.length >= 7 ? body.subarray(body.length - 7) : Buffer.concat([tail, body]).subarray(-7);
      tail = Buffer.from(t);
      if (tail.equals(LAST_CHUNK))
        setImmediate(() => {
          end();
          sock.destroy();
        });
      if (mode === 'idle') return;
      if (mode === 'count') {
        // Coalescing merges a fast job's `tok ` outputs into one frame: a frame counts one token per `tok ` in it
        // (at least one), so the figures stay tokens delivered, not frames. A frame is counted once it is whole.
        const buf = carryBuf ? Buffer.concat([carryBuf, body]) : body;
        let i = 0;
        let n = 0;
        let keep = -1;
        for (;;) {
          const j = buf.indexOf(TOKEN, i);
          if (j < 0) break;
          const end = buf.indexOf(FRAME_END, j);
          if (end < 0) {
            keep = j;
            break;
          }
          n += Math.max(1, occurrences(buf, WORD, j, end));
          i = end + FRAME_END.length;
        }
        if (n > 0) {
          stats.tokens += n;
          tokenSeen(Date.now());
        }
        if (keep < 0) keep = Math.max(i, buf.length - (TOKEN.length - 1));
        carryBuf = keep < buf.length ? Buffer.from(buf.subarray(keep)) : null;
        return;
      }
      // latency
      const now = Date.now();
      const s = carry + body.toString('latin1');
      let pos = 0;
      for (;;) {
        const i = s.indexOf(TOKEN_S, pos);
        if (i < 0) {
          carry = s.slice(Math.max(pos, s.length - (TOKEN_S.length - 1)));
          break;
        }
        const t = s.indexOf('"ts":"', i);
        if (t < 0 || t + 30 > s.length) {
          carry = s.slice(i);
          break;
        }
        const ts = Date.parse(s.slice(t + 6, t + 30));
        stats.tokens++;
        tokenSeen(now, ts);
        // `stats.measureFrom` (set by the capacity scenario once every client is open): steady state only
        if (ts >= openedAt && ts >= (stats.measureFrom ?? 0)) {
          const lat = Math.max(0, now - ts);
          stats.hist ??= new Uint32Array(HIST_MS + 1);
          stats.hist[Math.min(HIST_MS, lat)]++;
        }
        pos = t + 30;
      }
    });
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      if (!head) stats.ended++;
      onEnd?.(Date.now());
    };
    sock.on('end', () => {
      end();
      sock.destroy();
    });
    sock.on('close', end);
    sock.on('error', (err) => {
      if (head) {
        stats.failed++;
        reject(err);
      }
    });
  });
}

/** Opens `targets.length` connections (`[port, path]` each), at most `parallel` handshakes at a time. */
export async function openMany(opts, targets, parallel = 100) {
  const socks = [];
  let next = 0;
  const errors = [];
  async function lane() {
    while (next < targets.length) {
      const [port, path] = targets[next++];
      try {
        socks.push(await openSse({ ...opts, port, path }));
      } catch (err) {
        errors.push(String(err?.message ?? err));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, targets.length) }, lane));
  return { socks, errors };
}

export function mergeHist(into, h) {
  if (!h) return into;
  into ??= new Array(HIST_MS + 1).fill(0);
  for (let i = 0; i < h.length; i++) if (h[i]) into[i] += h[i];
  return into;
}

export function histPercentiles(h) {
  if (!h) return { p50_ms: null, p99_ms: null, max_ms: null, n: 0 };
  let n = 0;
  for (const c of h) n += c;
  const at = (q) => {
    const want = Math.ceil(q * n);
    let acc = 0;
    for (let i = 0; i < h.length; i++) {
      acc += h[i];
      if (acc >= want) return i;
    }
    return h.length - 1;
  };
  let max = 0;
  for (let i = h.length - 1; i >= 0; i--)
    if (h[i]) {
      max = i;
      break;
    }
  return { p50_ms: at(0.5), p99_ms: at(0.99), max_ms: max, n };
}
