import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AgUiModule } from './ag-ui/ag-ui.module.js';
import { AuthModule } from './auth/auth.module.js';
import { LoggerModule, type Params } from 'nestjs-pino';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import type { Engine } from './engine/engine.js';
import { EngineModule } from './engine/engine.module.js';
import { HealthModule } from './health/health.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { DsModule } from './ds/ds.module.js';
import { ThreadsModule } from './threads/threads.module.js';
import { AgentsModule } from './agents/agents.module.js';
import { JobManagementModule } from './job-management/job-management.module.js';
import { SharesModule } from './shares/shares.module.js';
import { PlaygroundModule } from './playground/playground.module.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { QuotasModule } from './quotas/quotas.module.js';
import { WatchdogModule } from './watchdog/watchdog.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';
import { TracingModule } from './tracing/tracing.module.js';
import { WorkerCoreModule } from './worker-core/worker-core.module.js';
import { WorkerApiModule } from './worker-api/worker-api.module.js';

/** The API app; with the embedded engine it also runs an agent worker in-process. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, engine: Engine, logging: Params = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(logging),
        EngineModule.forEngine(engine),
        AuthModule,
        LifecycleModule,
        MetricsModule,
        QuotasModule,
        TracingModule,
        HealthModule,
        AgentsModule,
        JobsModule,
        DsModule,
        ThreadsModule,
        AgUiModule,
        JobManagementModule,
        SharesModule,
        WatchdogModule,
        WorkerApiModule,
        ...(config.webhooks.enabled ? [WebhooksModule] : []),
        ...(config.playground ? [PlaygroundModule] : []),
        ...(config.inProcessWorker ? [WorkerCoreModule] : []),
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
