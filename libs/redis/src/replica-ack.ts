/**
 * Durable acknowledgements: a write that an answer acknowledges runs as `EVALSHA …; WAIT <replicas> <timeout>` in
 * one pipeline on a connection of its own, and counts as done only when `replicas` replicas have it. The script and
 * its WAIT travel together, so the WAIT always covers that write on that connection (a separate WAIT after a
 * reconnect would confirm nothing). The own connection keeps WAIT, which blocks its connection, off the store's
 * shared one. Fewer acks than asked ⇒ {@link ReplicaAckError}: the write may have landed on the primary, only its
 * durability is unknown — callers treat it like a timeout (unavailable, 503).
 */
import type { Redis } from 'ioredis';
import { isNoScript, type Script } from './scripts.js';

export interface ReplicaAckOptions {
  /** Replicas that must have a write before it counts (≥ 1). */
  replicas: number;
  /** How long WAIT waits for them (ms, ≥ 1). */
  timeoutMs: number;
}

export class ReplicaAckError extends Error {
  override readonly name = 'ReplicaAckError';
  constructor(
    readonly acked: number,
    readonly wanted: number,
    timeoutMs: number,
  ) {
    super(`the write reached ${acked} of ${wanted} replica(s) in ${timeoutMs} ms`);
  }
}

export class ReplicaAck {
  private conn: Promise<Redis> | null = null;
  private closed = false;

  constructor(
    private readonly base: Redis,
    readonly opts: ReplicaAckOptions,
  ) {
    if (!(opts.replicas >= 1 && opts.timeoutMs >= 1))
      throw new RangeError('ReplicaAck needs replicas ≥ 1, timeout ≥ 1 ms');
  }

  /** Runs the script, then waits for the replicas; the script's reply once they have it. */
  async eval(s: Script, keys: string[], args: string[]): Promise<unknown> {
    const redis = await this.connection();
    const run = (body: 'sha' | 'src') => {
      const p = redis.pipeline();
      if (body === 'sha') p.evalsha(s.sha, keys.length, ...keys, ...args);
      else p.eval(s.src, keys.length, ...keys, ...args);
      return p.wait(this.opts.replicas, this.opts.timeoutMs).exec();
    };
    let replies = await run('sha');
    if (isNoScript(replies?.[0]?.[0])) replies = await run('src');
    const [[scriptErr, reply], [waitErr, acked]] = (replies ?? [[new Error('no reply')], [null, 0]]) as [
      [Error | null, unknown],
      [Error | null, unknown],
    ];
    if (scriptErr) throw scriptErr;
    if (waitErr) throw waitErr;
    if (Number(acked) < this.opts.replicas)
      throw new ReplicaAckError(Number(acked), this.opts.replicas, this.opts.timeoutMs);
    return reply;
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.conn;
    this.conn = null;
    if (c) (await c.catch(() => null))?.disconnect();
  }

  /** The own connection: a duplicate of the base's (same server or sentinels, same credentials), opened on first use. */
  private connection(): Promise<Redis> {
    if (this.closed) return Promise.reject(new Error('connection is closed'));
    this.conn ??= (async () => {
      const dup = this.base.duplicate({ lazyConnect: true, enableOfflineQueue: false });
      dup.on('error', () => {});
      try {
        await dup.connect();
      } catch (err) {
        dup.disconnect();
        this.conn = null;
        throw err;
      }
      // WAIT may take its whole timeout: the command timeout leaves it room
      dup.options.commandTimeout = this.opts.timeoutMs + (this.base.options.commandTimeout ?? 2_000);
      return dup;
    })();
    return this.conn;
  }
}
