/**
 * Caps on open SSE streams: per tenant over every API process (MAX_STREAMS_PER_TENANT, the `streams` quota: leased
 * slots in the engine's StreamSlots → 429 `quota_exceeded`: the tenant should close some), per share link
 * (SHARE_MAX_STREAMS → 429 `too_many_connections`; share streams never count against the owner) and per process
 * (MAX_STREAMS → 503 with Retry-After: this instance is full, another one may not be). The process cap is checked
 * synchronously right before the stream is registered, so no two requests pass on one free slot.
 */
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { ENGINE } from '../engine/engine.constants.js';
import type { Engine } from '../engine/engine.js';
import { Metrics } from '../metrics/metrics.service.js';
import { Quotas } from '../quotas/quotas.service.js';
import { SseConnections } from '../sse/sse-connections.js';

@Injectable()
export class StreamLimits {
  constructor(
    private readonly config: AppConfig,
    private readonly connections: SseConnections,
    private readonly metrics: Metrics,
    private readonly quotas: Quotas,
    @Inject(ENGINE) private readonly engine: Engine,
  ) {}

  /**
   * Takes one of the tenant's stream slots (or throws the 429); the returned function gives it back, once — call
   * it when the stream closes, or when it never opened. A stream opened with a share link takes none: it counts
   * against the share's own cap (see {@link assertRoom}), never against the owner's.
   */
  async reserve(tenant: string, shareId?: string): Promise<() => void> {
    const max = this.config.maxStreamsPerTenant;
    if (max <= 0 || shareId !== undefined) return () => {};
    const id = randomUUID();
    const slots = this.engine.streamSlots;
    if (!(await slots.acquire(tenant, id, max))) {
      this.metrics.limitRejected('tenant_streams');
      this.quotas.refuse('streams', max, 5, `at most ${max} open streams per tenant; close one or retry later`);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      void slots.release(tenant, id);
    };
  }

  /**
   * Throws when a stream opened with a share link finds the share full (SHARE_MAX_STREAMS, counted here per share),
   * or when this process has no room for one more stream.
   */
  assertRoom(shareId?: string): void {
    const { maxStreams, shareMaxStreams } = this.config;
    if (shareId !== undefined && shareMaxStreams > 0 && this.connections.countForShare(shareId) >= shareMaxStreams) {
      this.metrics.limitRejected('share_streams');
      throw new ApiError(
        429,
        'too_many_connections',
        `at most ${shareMaxStreams} open streams per share link; close one or retry later`,
        { 'Retry-After': '5' },
      );
    }
    if (maxStreams > 0 && this.connections.size >= maxStreams) {
      this.metrics.limitRejected('global_streams');
      throw new ApiError(
        503,
        'too_many_connections',
        'this instance has no room for more streams; retry (another instance may)',
        {
          'Retry-After': '2',
        },
      );
    }
  }
}
