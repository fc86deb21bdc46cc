import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { ThreadsModule } from '../threads/threads.module.js';
import { JobManagementController } from './job-management.controller.js';
import { JobManagementService } from './job-management.service.js';

/** Rerun, batch create and delete of jobs. */
@Module({
  imports: [JobsModule, ThreadsModule],
  controllers: [JobManagementController],
  providers: [JobManagementService],
})
export class JobManagementModule {}
