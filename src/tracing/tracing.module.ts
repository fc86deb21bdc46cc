import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { HttpTracingMiddleware } from './http-tracing.middleware.js';

/** HTTP server spans for every route (a no-op unless tracing is on). */
@Module({ providers: [HttpTracingMiddleware] })
export class TracingModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpTracingMiddleware).forRoutes('{/*splat}');
  }
}
