/**
 * Caps on open SSE streams of this process: per tenant (MAX_STREAMS_PER_TENANT → 429 `too_many_connections`: the
 * tenant should close some) and overall (MAX_STREAMS → 503 with Retry-After: this instance is full, another one may
 * not be). Checked synchronously right before the stream is registered, so no two requests pass on one free slot.
 */
import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { Metrics } from '../metrics/metrics.service.js';
import { SseConnections } from '../sse/sse-connections.js';

@Injectable()
export class StreamLimits {
  constructor(
    private readonly config: AppConfig,
    private readonly connections: SseConnections,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Throws when the tenant (or, for a stream opened with a share link, the share: SHARE_MAX_STREAMS, not the
   * owner's cap) or the process has no room for one more stream.
   */
  assertRoom(tenant: string, shareId?: string): void {
    const { maxStreamsPerTenant, maxStreams, shareMaxStreams } = this.config;
    if (shareId !== undefined) {
      if (shareMaxStreams > 0 && this.connections.countForShare(shareId) >= shareMaxStreams) {
        this.metrics.limitRejected('share_streams');
        throw new ApiError(
          429,
          'too_many_connections',
          `at most ${shareMaxStreams} open streams per share link; close one or retry later`,
          { 'Retry-After': '5' },
        );
      }
    } else if (maxStreamsPerTenant > 0 && this.connections.countFor(tenant) >= maxStreamsPerTenant) {
      this.metrics.limitRejected('tenant_streams');
      throw new ApiError(
        429,
        'too_many_connections',
        `at most ${maxStreamsPerTenant} open streams per tenant; close one or retry later`,
        {
          'Retry-After': '5',
        },
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
