import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { ThreadsModule } from '../threads/threads.module.js';
import { AgUiController } from './ag-ui.controller.js';
import { AgUiService } from './ag-ui.service.js';

/** AG-UI: `POST /v1/ag-ui/:agent` for `@ag-ui/client`'s HttpAgent (the `?format=ag-ui` stream is the jobs module's). */
@Module({
  imports: [JobsModule, ThreadsModule],
  controllers: [AgUiController],
  providers: [AgUiService],
})
export class AgUiModule {}
