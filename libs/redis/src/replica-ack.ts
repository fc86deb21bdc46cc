/**
 * Durable acknowledgements: a write that an answer acknowledges runs as `EVALSHA …; WAIT <replicas> <timeout>` in
 * one pipeline, and counts as done only when `replicas` replicas have it. The script and its WAIT travel together
 * on one connection, so the WAIT covers that write (a separate WAIT after a reconnect would confirm nothing).
 *
 * WAIT blocks its connection, so these writes use a small pool of their own, one write per connection at a time:
 * with healthy replicas a connection is busy for one replica round trip; with replicas gone each is busy for the
 * whole timeout. A write waits at most one timeout (`queueMs`) for a free connection, else fails unsent
 * ({@link ReplicaAckBusyError}), so a write is sent within one timeout of being asked and its fate is known within
 * two. Fewer acks than asked ⇒ {@link ReplicaAckError}: the write landed on the primary, only its durability is
 * unknown — callers treat it like a timeout (unavailable, 503).
 */
import type { Redis } from 'ioredis';
import { isNoScript, type Script } from './scripts.js';

export interface ReplicaAckOptions {
  /** Replicas that must have a write before it counts (≥ 1). */
  replicas: number;
  /** How long WAIT waits for them (ms, ≥ 1). */
  timeoutMs: number;
  /** Most connections of the pool (most writes waiting for replicas at once); default 8. */
  connections?: number;
  /** How long a write waits for a free connection (ms); default `timeoutMs`. */
  queueMs?: number;
}

/** Fewer replicas than asked acknowledged a write (it is on the primary). */
export class ReplicaAckError extends Error {
  override readonly name = 'ReplicaAckError';
  constructor(
    readonly acked: number,
    readonly wanted: number,
    timeoutMs: number,
  ) {
    super(`the write reached ${acked} of ${wanted} replica(s) within ${timeoutMs} ms`);
  }
}

/** Every connection of the pool is waiting for replicas: the write was not sent. */
export class ReplicaAckBusyError extends Error {
  override readonly name = 'ReplicaAckBusyError';
}

export class ReplicaAck {
  private readonly idle: Redis[] = [];
  /** Writes waiting for a free connection, first come first served. */
  private readonly waiting: ((r: Redis | null) => void)[] = [];
  private open = 0;
  private closed = false;
  private readonly max: number;

  constructor(
    private readonly base: Redis,
    readonly opts: ReplicaAckOptions,
  ) {
    if (!(opts.replicas >= 1 && opts.timeoutMs >= 1))
      throw new RangeError('ReplicaAck needs replicas ≥ 1 and a timeout');
    this.max = Math.max(1, opts.connections ?? 8);
  }

  /** Runs the script, then waits for the replicas; the script's reply once they have it. */
  async eval(s: Script, keys: string[], args: string[]): Promise<unknown> {
    const redis = await this.acquire();
    let healthy = false;
    try {
      const run = (body: 'sha' | 'src') => {
        const p = redis.pipeline();
        if (body === 'sha') p.evalsha(s.sha, keys.length, ...keys, ...args);
        else p.eval(s.src, keys.length, ...keys, ...args);
        return p.wait(this.opts.replicas, this.opts.timeoutMs).exec();
      };
      let replies = await run('sha');
      if (isNoScript(replies?.[0]?.[0])) replies = await run('src');
      if (!replies || replies.length !== 2) throw new Error('Connection is closed (no reply to a pipeline)');
      const [[scriptErr, reply], [waitErr, acked]] = replies as [[Error | null, unknown], [Error | null, unknown]];
      // an error reply leaves the connection as good as it was; anything else (closed, timed out) does not
      healthy = waitErr === null || waitErr.name === 'ReplyError';
      if (scriptErr) throw scriptErr;
      if (waitErr) throw waitErr;
      if (Number(acked) < this.opts.replicas)
        throw new ReplicaAckError(Number(acked), this.opts.replicas, this.opts.timeoutMs);
      return reply;
    } finally {
      this.release(redis, healthy);
    }
  }

  /** Ends the pool (a write in flight ends its connection when it returns). */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.disconnect();
    for (const w of this.waiting.splice(0)) w(null);
  }

  private async acquire(): Promise<Redis> {
    if (this.closed) throw new Error('Connection is closed (replica acknowledgements)');
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.open >= this.max) return this.await();
    this.open++;
    // a duplicate of the base: the same server or sentinels, the same credentials and options
    const dup = this.base.duplicate({ lazyConnect: true, enableOfflineQueue: false });
    dup.on('error', () => {});
    try {
      await dup.connect();
    } catch (err) {
      this.open--;
      dup.disconnect();
      throw err;
    }
    // WAIT may take its whole timeout: the command timeout leaves it room
    dup.options.commandTimeout = this.opts.timeoutMs + (this.base.options.commandTimeout ?? 2_000);
    return dup;
  }

  /** A connection another write hands over, or {@link ReplicaAckBusyError} after one timeout. */
  private await(): Promise<Redis> {
    return new Promise<Redis>((resolve, reject) => {
      let done = false;
      const handOver = (r: Redis | null) => {
        if (done) {
          if (r) this.release(r, true); // came too late: back to the pool
          return;
        }
        done = true;
        clearTimeout(timer);
        if (r) resolve(r);
        else reject(new Error('Connection is closed (replica acknowledgements)'));
      };
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        const i = this.waiting.indexOf(handOver);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new ReplicaAckBusyError(`all ${this.max} connections waited for replicas; the write was not sent`));
      }, this.opts.queueMs ?? this.opts.timeoutMs);
      this.waiting.push(handOver);
    });
  }

  private release(redis: Redis, healthy: boolean): void {
    if (healthy && !this.closed && redis.status === 'ready') {
      const next = this.waiting.shift();
      if (next) next(redis);
      else this.idle.push(redis);
      return;
    }
    this.open--;
    redis.disconnect();
    // a waiting write opens a fresh connection in its place
    const next = this.waiting.shift();
    if (next) this.acquire().then(next, () => next(null));
  }
}
