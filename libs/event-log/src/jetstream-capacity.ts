/**
 * How full the JetStream events stream is: non-terminal appends stop a reserve short of `max_bytes` (discard new),
 * so every running job can still append its terminal event. Details: docs/internals.md.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { EventLogUsage } from './event-log.port.js';

export interface CapacityOptions {
  stream: string;
  maxBytes: number;
  /** Bytes kept for terminal events; default 5 % of `maxBytes`, at least 64 KiB. */
  reserveBytes?: number;
  /** How often the stream's size is read; default 1000 ms. */
  pollMs?: number;
}

/** Bytes JetStream stores per message beyond its payload and subject (headers: dedup id, expectations; record). */
export const MESSAGE_OVERHEAD_BYTES = 160;
const MIN_REFRESH_MS = 250;

export class JetStreamCapacity {
  readonly maxBytes: number;
  readonly reserve: number;
  private bytes = 0;
  private messages = 0;
  /** Bytes this instance appended since the last info. */
  private since = 0;
  private readAt = 0;
  private inflight: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly opts: CapacityOptions,
  ) {
    this.maxBytes = opts.maxBytes;
    this.reserve = Math.min(
      Math.floor(opts.maxBytes / 4),
      opts.reserveBytes ?? Math.max(64 * 1024, Math.floor(opts.maxBytes * 0.05)),
    );
    this.timer = setInterval(() => void this.refresh().catch(() => {}), opts.pollMs ?? 1_000);
    this.timer.unref();
  }

  /** Reads the stream's size now (one request in flight at a time). */
  refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        const sinceBefore = this.since;
        const info = await this.jsm.streams.info(this.opts.stream);
        this.bytes = info.state.bytes;
        this.messages = info.state.messages;
        // what was appended while the answer travelled may or may not be in it: count it (the safe side)
        this.since -= sinceBefore;
        this.readAt = Date.now();
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }

  /** A non-terminal append of `size` bytes stays under the soft limit (re-reading the stream's size when it seems not to). */
  async admits(size: number): Promise<boolean> {
    if (this.fits(size)) return true;
    if (Date.now() - this.readAt >= MIN_REFRESH_MS) await this.refresh().catch(() => {});
    return this.fits(size);
  }

  noteAppended(size: number): void {
    this.since += size;
  }

  /** Room for a new job. */
  hasRoom(): boolean {
    return this.used() < this.maxBytes - 2 * this.reserve;
  }

  usage(): EventLogUsage {
    const bytes = this.used();
    return {
      events: this.messages,
      bytes,
      runningEvents: this.messages,
      runningBytes: bytes,
      evictedJobs: 0,
      maxEvents: 0,
      maxBytes: this.maxBytes,
    };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private used(): number {
    return this.bytes + this.since;
  }

  /** `admits` without re-reading: the synchronous common case. */
  fits(size: number): boolean {
    return this.used() + size <= this.maxBytes - this.reserve;
  }
}
