import { Module } from '@nestjs/common';
import { PlaygroundController } from './playground.controller.js';

/** The browser playground at `/` (PLAYGROUND=false leaves it out). */
@Module({ controllers: [PlaygroundController] })
export class PlaygroundModule {}
