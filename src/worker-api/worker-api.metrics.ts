/** Prometheus metrics of the HTTP worker protocol, in the process's registry (GET /metrics). */
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Metrics } from '../metrics/metrics.service.js';
import type { LeaseStore } from './leases/lease-store.port.js';
import { WORKER_LEASES } from './worker-api.constants.js';

export type ClaimOutcome = 'leased' | 'empty' | 'refused';
export type AppendOutcome = 'appended' | 'duplicate' | 'gap' | 'lost' | 'unknown' | 'busy' | 'invalid' | 'unavailable';
export type LapseOutcome = 'retried' | 'worker_lost' | 'cancelled' | 'gone';

@Injectable()
export class WorkerApiMetrics {
  private readonly claims: Counter<'outcome'>;
  private readonly appends: Counter<'outcome'>;
  private readonly events: Counter;
  private readonly lapses: Counter<'outcome'>;

  constructor(metrics: Metrics, @Inject(WORKER_LEASES) leases: LeaseStore) {
    const registers = [metrics.registry];
    new Gauge({
      name: 'jobstream_worker_leases',
      help: 'HTTP worker leases current now (over every API process)',
      registers,
      async collect() {
        try {
          this.set(await leases.activeCount(Date.now()));
        } catch {
          /* the store is down: the gauge keeps its last value */
        }
      },
    });
    this.claims = new Counter({
      name: 'jobstream_worker_claims_total',
      help: 'POST /v1/worker/claim answered by this process, by outcome (leased, empty = 204, refused = 4xx)',
      labelNames: ['outcome'],
      registers,
    });
    this.appends = new Counter({
      name: 'jobstream_worker_appends_total',
      help: 'POST /v1/worker/leases/:id/events answered by this process, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.events = new Counter({
      name: 'jobstream_worker_events_appended_total',
      help: 'events HTTP workers appended through this process',
      registers,
    });
    this.lapses = new Counter({
      name: 'jobstream_worker_lease_lapses_total',
      help: 'HTTP worker leases that lapsed, handled by this process, by outcome (retried, worker_lost, cancelled, gone)',
      labelNames: ['outcome'],
      registers,
    });
  }

  claim(outcome: ClaimOutcome): void {
    this.claims.inc({ outcome });
  }
  append(outcome: AppendOutcome, events = 0): void {
    this.appends.inc({ outcome });
    if (events > 0) this.events.inc(events);
  }
  lapse(outcome: LapseOutcome): void {
    this.lapses.inc({ outcome });
  }
}
