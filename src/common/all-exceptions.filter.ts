import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { mapError } from './error-mapping.js';

/** Renders every error as the contract's JSON error; never a stack trace in a response. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const res = host.switchToHttp().getResponse<Response>();
    const m = mapError(exception);
    if (m.unexpected)
      this.logger.error({
        msg: 'unexpected error',
        err: exception instanceof Error ? { message: exception.message, stack: exception.stack } : String(exception),
      });
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(m.headers)) res.setHeader(k, v);
    res.status(m.status).json(m.body);
  }
}
