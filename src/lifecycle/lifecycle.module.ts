import { Global, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ShutdownService } from './shutdown.service.js';

/** Shutdown state for the whole app; while draining, every response asks the client to close its connection. */
@Global()
@Module({ providers: [ShutdownService], exports: [ShutdownService] })
export class LifecycleModule implements NestModule {
  constructor(private readonly shutdown: ShutdownService) {}

  configure(consumer: MiddlewareConsumer): void {
    const shutdown = this.shutdown;
    consumer
      .apply((_req: Request, res: Response, next: NextFunction) => {
        if (shutdown.draining) res.setHeader('Connection', 'close');
        next();
      })
      .forRoutes('{/*splat}');
  }
}
