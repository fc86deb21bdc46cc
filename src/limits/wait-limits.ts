/**
 * Concurrent `GET /v1/jobs/:id/wait` long-polls per tenant on this process (TENANT_MAX_WAITS): each one holds a
 * connection and a live-hub subscription for up to its timeout, so one tenant's thousands of waits must not cost
 * the others. Over it ⇒ 429 `quota_exceeded` (kind `waits`) with Retry-After: a wait ends within its timeout.
 */
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/config.js';
import { Quotas } from '../quotas/quotas.service.js';

@Injectable()
export class WaitLimits {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly quotas: Quotas,
  ) {}

  /** Takes a place for one wait of the tenant (or throws the 429); the returned function gives it back, once. */
  acquire(tenant: string): () => void {
    const max = this.config.quotas.waits;
    const n = this.open.get(tenant) ?? 0;
    if (max > 0 && n >= max)
      this.quotas.refuse('waits', max, 5, `at most ${max} concurrent waits per tenant; retry when one has returned`);
    this.open.set(tenant, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(tenant) ?? 1) - 1;
      if (left <= 0) this.open.delete(tenant);
      else this.open.set(tenant, left);
    };
  }

  countFor(tenant: string): number {
    return this.open.get(tenant) ?? 0;
  }
}
