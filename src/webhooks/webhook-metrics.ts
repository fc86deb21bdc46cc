/** Prometheus metrics of webhook deliveries, in the app's registry. */
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Metrics } from '../metrics/metrics.service.js';

export type TryResult = 'delivered' | 'retry' | 'failed';

@Injectable()
export class WebhookMetrics {
  private readonly tries: Counter<'result'>;
  private readonly created: Counter<'event_type'>;
  private readonly duration: Histogram<'outcome'>;
  private pending: () => Promise<number> = async () => 0;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with `this` = the metric
    const self = this;
    this.tries = new Counter({
      name: 'jobstream_webhook_attempts_total',
      help: 'webhook delivery tries, by what followed (delivered, retry scheduled, failed for good)',
      labelNames: ['result'],
      registers,
    });
    this.created = new Counter({
      name: 'jobstream_webhook_deliveries_created_total',
      help: 'webhook deliveries created (one per endpoint and job event)',
      labelNames: ['event_type'],
      registers,
    });
    this.duration = new Histogram({
      name: 'jobstream_webhook_attempt_duration_seconds',
      help: 'duration of webhook delivery tries',
      labelNames: ['outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'jobstream_webhook_pending_deliveries',
      help: 'webhook deliveries scheduled for a (first or further) try',
      registers,
      async collect() {
        try {
          this.set(await self.pending());
        } catch {
          /* store unavailable: leave the last value */
        }
      },
    });
  }

  bindPending(read: () => Promise<number>): void {
    this.pending = read;
  }

  deliveryCreated(eventType: string): void {
    this.created.inc({ event_type: eventType });
  }

  attempt(result: TryResult, ok: boolean, durationMs: number): void {
    this.tries.inc({ result });
    this.duration.observe({ outcome: ok ? 'success' : 'failure' }, durationMs / 1000);
  }
}
