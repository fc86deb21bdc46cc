import { Global, Module, type DynamicModule } from '@nestjs/common';
import {
  AGENT_CATALOG,
  ENGINE,
  EVENT_LOG,
  JOB_CONTROL,
  JOB_QUEUE,
  JOB_STORE,
  SHARE_STORE,
  THREAD_STORE,
} from './engine.constants.js';
import type { Engine } from './engine.js';

/**
 * Exposes an already-built {@link Engine}'s ports under their tokens. The engine is built before Nest starts and
 * closed after the app has closed (see `bootstrap.ts`), so every consumer shuts down before its connections go.
 */
@Global()
@Module({})
export class EngineModule {
  static forEngine(engine: Engine): DynamicModule {
    return {
      module: EngineModule,
      providers: [
        { provide: ENGINE, useValue: engine },
        { provide: EVENT_LOG, useValue: engine.eventLog },
        { provide: JOB_STORE, useValue: engine.jobStore },
        { provide: JOB_QUEUE, useValue: engine.jobQueue },
        { provide: JOB_CONTROL, useValue: engine.jobControl },
        { provide: THREAD_STORE, useValue: engine.threadStore },
        { provide: SHARE_STORE, useValue: engine.shareStore },
        { provide: AGENT_CATALOG, useValue: engine.agentCatalog },
      ],
      exports: [ENGINE, EVENT_LOG, JOB_STORE, JOB_QUEUE, JOB_CONTROL, THREAD_STORE, SHARE_STORE, AGENT_CATALOG],
    };
  }
}
