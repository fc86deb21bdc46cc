/** An error with the contract's code and HTTP status; the exception filter renders it as `{ error: { code, message } }`. */
import { HttpException } from '@nestjs/common';
import type { ErrorCode } from '@jobstream/contracts';

export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super({ error: { code, message } }, status);
  }

  static invalid(message: string): ApiError {
    return new ApiError(400, 'invalid_request', message);
  }

  static notFound(what = 'job'): ApiError {
    return new ApiError(404, 'not_found', `${what} not found`);
  }
}
