import { Injectable, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ApiError } from './api-error.js';
import { zodMessage } from './error-mapping.js';

/** Validates a body or query against a zod schema; a failure is a 400 `invalid_request` naming each field. */
@Injectable()
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what = 'body',
  ) {}

  transform(value: unknown): z.infer<S> {
    if (
      this.what === 'body' &&
      (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value))
    ) {
      throw ApiError.invalid('the request body must be a JSON object (Content-Type: application/json)');
    }
    const res = this.schema.safeParse(value);
    if (!res.success) throw ApiError.invalid(zodMessage(res.error, this.what === 'body' ? '' : this.what));
    return res.data;
  }
}
