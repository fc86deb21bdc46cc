import { Module } from '@nestjs/common';
import { WatchdogService } from './watchdog.service.js';

/** The stale-job watchdog; imported by the API app and by the worker app (it is safe to run everywhere). */
@Module({ providers: [WatchdogService], exports: [WatchdogService] })
export class WatchdogModule {}
