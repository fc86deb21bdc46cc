import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module.js';
import { SharesController } from './shares.controller.js';
import { SharesService } from './shares.service.js';

/** Read-only, revocable share links of a job (the tokens are checked by ApiKeyGuard on the routes that accept them). */
@Module({ imports: [JobsModule], controllers: [SharesController], providers: [SharesService] })
export class SharesModule {}
