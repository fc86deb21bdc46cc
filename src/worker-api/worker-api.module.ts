import { Module } from '@nestjs/common';
import type { Engine } from '../engine/engine.js';
import { ENGINE } from '../engine/engine.constants.js';
import { LeaseSweeper } from './lease-sweeper.service.js';
import { WorkerApiController } from './worker-api.controller.js';
import { WORKER_LEASES } from './worker-api.constants.js';
import { WorkerApiMetrics } from './worker-api.metrics.js';
import { WorkerAppendsService } from './worker-appends.service.js';
import { WorkerClaimsService } from './worker-claims.service.js';
import { WorkerKeyGuard } from './worker-key.guard.js';

/** The HTTP worker protocol (`/v1/worker/*`): workers in any language lease jobs and append their agents' output. */
@Module({
  controllers: [WorkerApiController],
  providers: [
    { provide: WORKER_LEASES, inject: [ENGINE], useFactory: (engine: Engine) => engine.workerLeases },
    WorkerApiMetrics,
    WorkerClaimsService,
    WorkerAppendsService,
    LeaseSweeper,
    WorkerKeyGuard,
  ],
})
export class WorkerApiModule {}
