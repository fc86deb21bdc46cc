/**
 * Every open SSE response of this process: one shared heartbeat timer for all of them (no timer per client, see
 * {@link HeartbeatScheduler}: the open connections live in its per-slot buckets, a tick visits only its slot's),
 * the slow-client bound, per-tenant counts, and ending them all at shutdown with a `retry:` hint so clients
 * resume elsewhere.
 */
import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Response } from 'express';
import { AppConfig } from '../config/config.js';
import { HeartbeatScheduler, type HeartbeatTarget } from './heartbeats.js';

/** The share link a stream was opened with: it counts against the share, and ends when the share goes. */
export interface StreamShare {
  readonly id: string;
  /** SHA-256 of its token (the share store's key). */
  readonly digest: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

export interface SseConnection extends HeartbeatTarget {
  readonly tenant: string;
  readonly jobId: string;
  readonly share?: StreamShare;
  readonly res: Response;
  /** Ends the response (the source's teardown runs on close). */
  end(reason: 'done' | 'shutdown' | 'slow' | 'error' | 'revoked'): void;
  /** Writes a frame; false when the client is too slow and was dropped. */
  write(frame: string): boolean;
}

/** Plain counters, bumped on the hot path and read by the metrics at scrape time. */
export interface SseStats {
  open: number;
  heartbeats: number;
  droppedSlow: number;
  /** Event frames written to clients (heartbeats and hints not counted). */
  eventsDelivered: number;
}

@Injectable()
export class SseConnections implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Sse');
  private readonly byTenant = new Map<string, number>();
  /** Streams opened with a share link, by share id (they count there, not against their tenant). */
  private readonly byShare = new Map<string, Set<SseConnection>>();
  private readonly ticker: NodeJS.Timeout;
  /** The open connections (bucketed by heartbeat slot). */
  private readonly heartbeats: HeartbeatScheduler<SseConnection>;
  private closing = false;
  readonly stats: SseStats = { open: 0, heartbeats: 0, droppedSlow: 0, eventsDelivered: 0 };

  constructor(private readonly config: AppConfig) {
    this.heartbeats = new HeartbeatScheduler<SseConnection>(config.heartbeatMs);
    this.ticker = setInterval(() => this.beat(), this.heartbeats.tickMs);
    this.ticker.unref();
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Open streams on this process. */
  get size(): number {
    return this.heartbeats.size;
  }

  countFor(tenant: string): number {
    return this.byTenant.get(tenant) ?? 0;
  }

  countForShare(shareId: string): number {
    return this.byShare.get(shareId)?.size ?? 0;
  }

  /** The open streams of each share link, by share id. */
  sharedStreams(): ReadonlyMap<string, ReadonlySet<SseConnection>> {
    return this.byShare;
  }

  add(c: SseConnection): void {
    this.heartbeats.add(c);
    if (c.share) {
      const set = this.byShare.get(c.share.id) ?? new Set();
      set.add(c);
      this.byShare.set(c.share.id, set);
    } else this.byTenant.set(c.tenant, this.countFor(c.tenant) + 1);
    this.stats.open = this.heartbeats.size;
  }

  remove(c: SseConnection): void {
    if (!this.heartbeats.remove(c)) return;
    if (c.share) {
      const set = this.byShare.get(c.share.id);
      set?.delete(c);
      if (set?.size === 0) this.byShare.delete(c.share.id);
    } else {
      const n = this.countFor(c.tenant) - 1;
      if (n > 0) this.byTenant.set(c.tenant, n);
      else this.byTenant.delete(c.tenant);
    }
    this.stats.open = this.heartbeats.size;
  }

  noteSlowDrop(c: SseConnection): void {
    this.stats.droppedSlow++;
    this.logger.warn({
      msg: 'dropped a slow SSE client (it can resume from its cursor)',
      job_id: c.jobId,
      tenant: c.tenant,
    });
  }

  private beat(): void {
    this.stats.heartbeats += this.heartbeats.tick(performance.now());
  }

  /** Ends every open stream with a short retry hint; clients resume from their cursor on another instance. */
  closeAll(): void {
    this.closing = true;
    clearInterval(this.ticker);
    const all = this.heartbeats.all();
    for (const c of all) c.end('shutdown');
    const n = all.length;
    if (n > 0) this.logger.log(`ended ${n} open stream(s) for shutdown`);
  }

  /** Before the HTTP server closes (it would otherwise wait for every open stream). */
  beforeApplicationShutdown(): void {
    this.closeAll();
  }
}
