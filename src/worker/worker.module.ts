import { Module, type DynamicModule } from '@nestjs/common';
import type { WorkerConfig } from '../config/worker.config.js';
import { ConfigModule } from '../config/config.module.js';
import { EngineModule } from '../engine/engine.module.js';
import type { Engine } from '../engine/engine.js';
import { WatchdogModule } from '../watchdog/watchdog.module.js';
import { WorkerController } from './worker.controller.js';
import { WorkerCoreModule } from '../worker-core/worker-core.module.js';

/** The agent-worker microservice: the worker core (queue consumer, runner, agents), the watchdog, diagnostics. */
@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig, engine: Engine): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), EngineModule.forEngine(engine), WorkerCoreModule, WatchdogModule],
      controllers: [WorkerController],
    };
  }
}
