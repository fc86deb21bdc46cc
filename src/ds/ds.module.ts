/** The Durable Streams feature: `/ds/v1/stream/<name>` on the engine's byte log and metadata store. */
import { Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/config.js';
import { ENGINE } from '../engine/engine.constants.js';
import type { Engine } from '../engine/engine.types.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { Metrics } from '../metrics/metrics.service.js';
import { DS_HTTP } from './ds.constants.js';
import { DsController } from './ds.controller.js';
import { DsHttp } from './ds-http.js';
import { DsJobStreams } from './ds-job-streams.js';
import { DsReader } from './ds-read-http.js';
import { DsStreams } from './ds-streams.js';

@Module({
  imports: [JobsModule],
  controllers: [DsController],
  providers: [
    DsJobStreams,
    {
      provide: DS_HTTP,
      inject: [ENGINE, AppConfig, DsJobStreams, Metrics],
      useFactory: (engine: Engine, config: AppConfig, jobs: DsJobStreams, metrics: Metrics) => {
        const { log, store } = engine.durableStreams;
        jobs.useReader(new DsReader(config.ds.longPollMs));
        return new DsHttp(
          new DsStreams(log, store, config.ds.maxStreams),
          log,
          jobs,
          {
            longPollMs: config.ds.longPollMs,
            createsPerMin: config.ds.createsPerMin,
            // a live read holds a connection like an SSE stream: the same per-tenant cap
            maxLiveReadsPerTenant: config.maxStreamsPerTenant,
          },
          (op, outcome) => metrics.dsRequest(op, outcome),
        );
      },
    },
  ],
})
export class DsModule implements OnModuleDestroy {
  private readonly sweeper: NodeJS.Timeout;

  constructor(@Inject(DS_HTTP) http: DsHttp) {
    this.sweeper = setInterval(() => http.sweep(), 60_000);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}
