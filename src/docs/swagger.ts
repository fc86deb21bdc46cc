import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { componentSchemas } from './openapi-schemas.js';

/** The app's OpenAPI document (also what `src/docs/api-reference.spec.ts` checks docs/api.md against). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('jobstream')
    .setDescription(
      'Streams the output of long-running AI-agent jobs over Server-Sent Events; any client that drops resumes exactly where it stopped.\n\nErrors are `{ "error": { "code", "message" } }`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key from API_KEYS' })
    .addTag('Jobs', 'create, read, cancel, rerun, batch, delete jobs')
    .addTag('Streams', 'the SSE stream of a job and its browser tokens')
    .addTag('Threads', 'conversations: a thread is many turns (jobs) with one agent')
    .addTag('Shares', 'read-only, revocable share links of a job')
    .addTag('Webhooks', 'webhook endpoints and their delivery logs')
    .addTag('Agents', 'the agent catalogue: agents announced by workers, with their input schemas')
    .addTag(
      'Durable Streams',
      'the Durable Streams protocol under /ds (docs/durable-streams.md); jobs/<id> are the jobs',
    )
    .addTag(
      'worker',
      'the HTTP worker protocol: workers in any language lease jobs and append their output (worker keys)',
    )
    .build();
  // one tag per resource, set on each operation (src/docs/*.docs.ts): no extra tag per controller class
  const document = SwaggerModule.createDocument(app, config, { autoTagControllers: false });
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...(componentSchemas() as object) },
  };
  return document;
}

/** Swagger UI at /docs, the OpenAPI document at /docs-json. */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
