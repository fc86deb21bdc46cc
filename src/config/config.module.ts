import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { CommonConfig } from './common.config.js';

/**
 * Provides an already-validated config to the whole app under its class and every class it extends: the API's
 * `AppConfig` is also injected as `WorkerConfig` and `CommonConfig` (what the shared code asks for); the worker
 * app's `WorkerConfig` as `WorkerConfig` and `CommonConfig`.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: CommonConfig): DynamicModule {
    const tokens: Provider[] = [];
    for (let c = config.constructor; c !== Object && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
      tokens.push({ provide: c, useValue: config });
      if (c === CommonConfig) break;
    }
    const provided = tokens.map((p) => (p as { provide: unknown }).provide) as DynamicModule['exports'];
    return { module: ConfigModule, providers: tokens, exports: provided };
  }
}
