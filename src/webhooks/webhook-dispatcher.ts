/**
 * Sends due deliveries: claims them from the store (leased, so several API processes share the work and a process
 * that dies mid-try loses nothing), signs each try per Standard Webhooks (the maintained `standardwebhooks`
 * package), POSTs it (see webhook-sender.ts), and records the try: delivered on a 2xx, else the next try per the
 * retry schedule, or failed for good when the schedule is used up.
 *
 * Isolation from streaming: tries run here, off the request path, at most `concurrency` at once, each bounded by
 * the timeout; the loop only wakes on a timer or when a delivery was created. A slow or dead endpoint costs one
 * slot for at most the timeout and never blocks the event log, the feed (deliveries are created, not sent, there)
 * or SSE.
 */
import { Logger } from '@nestjs/common';
import { Webhook } from 'standardwebhooks';
import type { WebhookStore, Delivery, AttemptOutcome } from '@jobstream/webhooks';
import { sendWebhook, type SendResult } from './webhook-sender.js';
import type { WebhookMetrics } from './webhook-metrics.js';

export interface DispatcherOptions {
  timeoutMs: number;
  retryScheduleMs: number[];
  concurrency: number;
  pollMs: number;
  allowPrivate: boolean;
  /** How long a claimed delivery stays with this process beyond the timeout before another may try it. */
  leaseMarginMs: number;
  /** One tenant's tries in flight at once, over every process (its fair share of the slots). */
  tenantConcurrency: number;
}

/** Whole seconds since the epoch, as Standard Webhooks wants for `webhook-timestamp`. */
const epochSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

export class WebhookDispatcher {
  private readonly logger = new Logger('WebhookDispatcher');
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private ticking = false;
  private again = false;

  constructor(
    private readonly store: WebhookStore,
    private readonly opts: DispatcherOptions,
    private readonly metrics: WebhookMetrics,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Try now (a delivery was created or redelivered). */
  kick(): void {
    if (!this.running) return;
    if (this.ticking) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // tries in flight end within the timeout; their outcome is recorded (or, if not, the lease runs out)
    await Promise.allSettled([...this.inflight]);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (!this.running || this.ticking) return;
    this.ticking = true;
    this.again = false;
    try {
      const free = this.opts.concurrency - this.inflight.size;
      if (free <= 0)
        this.again = true; // look again as soon as a slot frees up
      else {
        const lease = this.opts.timeoutMs + this.opts.leaseMarginMs;
        const claimed = await this.store.claimDue(this.now(), free, lease, this.opts.tenantConcurrency);
        for (const d of claimed) this.track(this.tryOnce(d));
        if (claimed.length === free) this.again = true; // more may be due
      }
    } catch (err) {
      this.logger.warn({ msg: 'webhook dispatch: cannot claim deliveries', error: (err as Error).message });
    } finally {
      this.ticking = false;
    }
    if (this.again && this.inflight.size < this.opts.concurrency) this.schedule(0);
    else this.schedule(this.opts.pollMs);
  }

  private track(attempt: Promise<void>): void {
    // A try that throws (a stored secret the signer refuses, a URL node:http will not take) must not become an
    // unhandled rejection, which ends the process: log it; its lease runs out and the delivery is tried again.
    const p = attempt.catch((err: unknown) => {
      this.logger.warn({
        msg: 'webhook dispatch: a try failed',
        error: err instanceof Error ? err.message : String(err),
      });
    });
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      if (this.again) this.kick();
    });
  }

  private async tryOnce(d: Delivery): Promise<void> {
    const ep = await this.store.getEndpointById(d.webhook_id).catch(() => undefined);
    if (ep === undefined) return; // store trouble: the lease runs out and it is tried again
    const at = this.now();
    let result: SendResult;
    if (ep === null) {
      result = { ok: false, status_code: null, error: 'endpoint deleted', duration_ms: 0 };
    } else {
      const wh = new Webhook(ep.secret);
      const headers = {
        'webhook-id': d.id,
        'webhook-timestamp': String(epochSeconds(at)),
        'webhook-signature': wh.sign(d.id, at, d.payload),
      };
      result = await sendWebhook(ep.url, headers, d.payload, {
        timeoutMs: this.opts.timeoutMs,
        allowPrivate: this.opts.allowPrivate,
      });
    }
    const outcome = this.outcomeOf(d, result, ep === null);
    try {
      await this.store.recordAttempt(
        d.id,
        { at: at.toISOString(), status_code: result.status_code, error: result.error, duration_ms: result.duration_ms },
        outcome,
      );
    } catch (err) {
      this.logger.warn({
        msg: 'webhook dispatch: cannot record a try',
        delivery_id: d.id,
        error: (err as Error).message,
      });
    }
    this.metrics.attempt(outcome.kind === 'retry' ? 'retry' : outcome.kind, result.ok, result.duration_ms);
    const log = {
      msg: `webhook ${outcome.kind}`,
      delivery_id: d.id,
      webhook_id: d.webhook_id,
      job_id: d.job_id,
      event_type: d.event_type,
      attempt: d.attempt_count + 1,
      status_code: result.status_code,
      error: result.error ?? undefined,
      duration_ms: result.duration_ms,
      next_attempt_at: outcome.kind === 'retry' ? outcome.at.toISOString() : undefined,
    };
    if (result.ok) this.logger.log(log);
    else this.logger.warn(log);
  }

  private outcomeOf(d: Delivery, r: SendResult, gone: boolean): AttemptOutcome {
    if (r.ok) return { kind: 'delivered' };
    if (gone) return { kind: 'failed' };
    const delay = this.opts.retryScheduleMs[d.schedule_index];
    if (delay === undefined) return { kind: 'failed' };
    return { kind: 'retry', at: new Date(this.now().getTime() + delay) };
  }
}
