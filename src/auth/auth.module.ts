import { Global, Module } from '@nestjs/common';
import { STREAM_TOKEN_CLOCK, type Clock } from './auth.constants.js';
import { StreamTokenService } from './stream-token.service.js';

/**
 * Authentication pieces for every feature module (global, like the config: any controller may use ApiKeyGuard,
 * which needs the stream token service).
 */
@Global()
@Module({
  providers: [
    StreamTokenService,
    { provide: STREAM_TOKEN_CLOCK, useFactory: (): Clock => ({ now: () => Date.now() }) },
  ],
  exports: [StreamTokenService, STREAM_TOKEN_CLOCK],
})
export class AuthModule {}
