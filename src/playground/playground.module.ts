import { Module } from '@nestjs/common';
import { PlaygroundController } from './playground.controller.js';
import { loadPlaygroundAssets, PLAYGROUND_ASSETS } from './playground.assets.js';

/** The browser playground at `/` (PLAYGROUND=false leaves it out). Its files are read once, when the app starts. */
@Module({
  controllers: [PlaygroundController],
  providers: [{ provide: PLAYGROUND_ASSETS, useFactory: loadPlaygroundAssets }],
})
export class PlaygroundModule {}
