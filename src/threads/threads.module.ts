import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { ThreadExpiry } from './thread-expiry.js';
import { ThreadSweeper } from './thread-sweeper.js';
import { ThreadsController } from './threads.controller.js';
import { ThreadsNatsController } from './threads.nats.controller.js';
import { ThreadsService } from './threads.service.js';

/** Conversations: threads, their turns, the if_busy policies, the sweep that repairs stalled threads, expiry. */
@Module({
  imports: [JobsModule],
  controllers: [ThreadsController, ThreadsNatsController],
  providers: [ThreadsService, ThreadSweeper, ThreadExpiry],
  exports: [ThreadsService],
})
export class ThreadsModule {}
