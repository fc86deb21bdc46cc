/**
 * Deliberate shutdown of the HTTP side. On app.close() (SIGTERM/SIGINT in main.ts):
 *  1. `draining` turns on: readiness reports down, responses carry `Connection: close`, long-polls (`/wait`) are
 *     answered at once with the job as it is (their signal aborts);
 *  2. SseConnections ends every open stream with a `retry:` hint (its own beforeApplicationShutdown);
 *  3. Nest closes the server: no new connections; idle keep-alive sockets close; in-flight requests finish;
 *  4. any request still running after the grace period (30 % of SHUTDOWN_TIMEOUT_MS) has its socket destroyed, so
 *     the worker drain and the engine close still fit in the budget main.ts enforces.
 */
import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { AppConfig } from '../config/config.js';

@Injectable()
export class ShutdownService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private readonly ac = new AbortController();
  private forceTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  get draining(): boolean {
    return this.ac.signal.aborted;
  }

  /** Aborts when the app starts shutting down. */
  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** How long in-flight requests may still run once shutdown has begun. */
  get graceMs(): number {
    return Math.floor(this.config.shutdownTimeoutMs * 0.3);
  }

  beforeApplicationShutdown(): void {
    if (this.draining) return;
    this.ac.abort();
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    server.closeIdleConnections();
    // The hooks after the server's close (the worker's drain, the engine) may outlast the grace period: only
    // requests still holding the server open are "still running", so the timer ends with the server.
    server.once('close', () => this.onApplicationShutdown());
    this.forceTimer = setTimeout(() => {
      this.logger.warn(`requests still running after ${this.graceMs} ms of shutdown; closing their connections`);
      server.closeAllConnections();
    }, this.graceMs);
    this.forceTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.forceTimer) clearTimeout(this.forceTimer);
    this.forceTimer = null;
  }
}
