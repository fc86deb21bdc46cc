import { Global, Module } from '@nestjs/common';
import { STREAM_TOKEN_CLOCK, type Clock } from './auth.constants.js';
import { AuthFailures } from './auth-failures.js';
import { StreamTokenService } from './stream-token.service.js';

/**
 * Authentication pieces for every feature module (global, like the config: any controller may use ApiKeyGuard,
 * which needs the stream token service and the invalid-key throttle).
 */
@Global()
@Module({
  providers: [
    StreamTokenService,
    AuthFailures,
    { provide: STREAM_TOKEN_CLOCK, useFactory: (): Clock => ({ now: () => Date.now() }) },
  ],
  exports: [StreamTokenService, STREAM_TOKEN_CLOCK, AuthFailures],
})
export class AuthModule {}
