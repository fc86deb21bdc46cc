import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { HttpMetricsMiddleware } from './http-metrics.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { Metrics } from './metrics.service.js';
import { RUNNER_METRICS } from '../worker-core/worker.constants.js';

/** The process's metrics registry (global, so features can record into it) and GET /metrics. */
@Global()
@Module({
  controllers: [MetricsController],
  // RUNNER_METRICS: the same registry, under the worker core's token (the in-process runner reports into it)
  providers: [Metrics, HttpMetricsMiddleware, { provide: RUNNER_METRICS, useExisting: Metrics }],
  exports: [Metrics, RUNNER_METRICS],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('{/*splat}');
  }
}
