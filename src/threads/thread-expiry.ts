/**
 * Expires idle threads: every API process looks, on a timer, for threads with no turn active or waiting whose state
 * has not changed for THREAD_RETENTION_S, and deletes each with its jobs and their events (as `DELETE
 * /v1/threads/:id` does), so a tenant's threads do not pile up forever. A thread that became busy meanwhile is
 * refused by the store's delete and left alone. One bad thread is logged and skipped; the pass goes on.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ThreadStore } from '@jobstream/thread-store';
import { AppConfig } from '../config/config.js';
import { PeriodicPass } from '../common/periodic-pass.js';
import { THREAD_STORE } from '../engine/engine.constants.js';
import { ThreadsService } from './threads.service.js';

/** Threads looked at per pass (the next pass goes on). */
const BATCH = 100;

@Injectable()
export class ThreadExpiry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Threads');
  private readonly passes = new PeriodicPass(
    () => this.sweep(),
    (err) => this.logger.warn({ msg: 'thread expiry failed', error: err instanceof Error ? err.message : String(err) }),
  );

  constructor(
    @Inject(THREAD_STORE) private readonly threads: ThreadStore,
    private readonly service: ThreadsService,
    private readonly config: AppConfig,
  ) {}

  get retentionMs(): number {
    return this.config.quotas.threadRetentionMs;
  }

  onApplicationBootstrap(): void {
    if (this.retentionMs <= 0) return;
    this.passes.start(Math.min(60_000, Math.max(250, Math.floor(this.retentionMs / 2))));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.passes.stop();
  }

  /** One pass; returns the ids of the threads it deleted. */
  async sweep(now = Date.now()): Promise<string[]> {
    const deleted: string[] = [];
    for (const t of await this.threads.listIdle(new Date(now - this.retentionMs), BATCH)) {
      try {
        await this.service.delete(t.tenant, t.id);
        deleted.push(t.id);
      } catch (err) {
        this.logger.warn({
          msg: 'idle thread not expired; the next pass tries again',
          thread_id: t.id,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    if (deleted.length > 0) this.logger.log({ msg: 'idle threads expired', threads: deleted.length });
    return deleted;
  }
}
