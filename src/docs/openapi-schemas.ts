/**
 * OpenAPI component schemas generated from the zod contracts (one source of truth for validation and docs), by area:
 * jobs (job-schemas.ts), threads and the rest of the resources (thread-schemas.ts), reads (read-schemas.ts).
 */
import { jobSchemas } from './job-schemas.js';
import { readSchemas } from './read-schemas.js';
import { threadSchemas } from './thread-schemas.js';
import type { Schema } from './schema-helpers.js';

export function componentSchemas(): Record<string, Schema> {
  return { ...jobSchemas(), ...threadSchemas(), ...readSchemas() };
}
