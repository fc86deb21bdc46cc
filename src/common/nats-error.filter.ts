/**
 * Renders every error of a NATS request handler as the contract's reply `{ error: { code, message } }`, with the
 * codes of REST (one mapping: error-mapping.ts); never a stack trace, never Nest's RPC error envelope.
 */
import { Catch, Logger, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { of, type Observable } from 'rxjs';
import type { ErrorBody } from '@jobstream/contracts';
import { mapError } from './error-mapping.js';

@Catch()
export class NatsErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('NatsApi');

  catch(exception: unknown, _host: ArgumentsHost): Observable<ErrorBody> {
    const m = mapError(exception);
    if (m.unexpected)
      this.logger.error({
        msg: 'unexpected error',
        err: exception instanceof Error ? { message: exception.message, stack: exception.stack } : String(exception),
      });
    return of(m.body);
  }
}
