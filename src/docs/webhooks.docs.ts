/** OpenAPI decorators of the webhooks endpoints, kept out of the controller. */
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_URL_MAX } from '@jobstream/contracts';
import { DELIVERIES_LIMIT_DEFAULT, DELIVERIES_LIMIT_MAX } from '../webhooks/webhooks.constants.js';
import { operation } from './doc-helpers.js';
import { errorResponse } from './error-responses.js';

const err = errorResponse;
const idParam = ApiParam({ name: 'id', description: 'webhook endpoint id', example: 'wh_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' });
const common = [ApiTags('Webhooks'), ApiBearerAuth(), err(401, 'no or bad API key')];

const webhook = {
  type: 'object',
  required: ['id', 'url', 'events', 'created_at'],
  properties: {
    id: { type: 'string', example: 'wh_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' },
    url: { type: 'string', example: 'https://example.com/hooks/jobstream' },
    events: { type: 'array', items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] } },
    created_at: { type: 'string', format: 'date-time' },
  },
};
const delivery = {
  type: 'object',
  properties: {
    id: {
      type: 'string',
      description: 'also the `webhook-id` header of every try',
      example: 'msg_01JD7Y3Z8W4X2V9Q5R6S7T8U9V',
    },
    webhook_id: { type: 'string' },
    event_type: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
    job_id: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    next_attempt_at: { type: 'string', format: 'date-time', nullable: true },
    attempt_count: { type: 'integer' },
    attempts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          attempt: { type: 'integer' },
          at: { type: 'string', format: 'date-time' },
          status_code: { type: 'integer', nullable: true },
          error: { type: 'string', nullable: true },
          duration_ms: { type: 'integer' },
          trigger: { type: 'string', enum: ['scheduled', 'manual'] },
        },
      },
    },
  },
};

export const ApiWebhooksDocs = {
  create: () =>
    applyDecorators(
      ...common,
      ApiOperation({
        summary: 'Create a webhook endpoint',
        description:
          'Deliveries are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`) with the returned `secret`, which is shown only here. ' +
          'URLs on loopback, private, link-local or reserved addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true.',
      }),
      ApiBody({
        schema: {
          type: 'object',
          required: ['url', 'events'],
          properties: {
            url: { type: 'string', maxLength: WEBHOOK_URL_MAX, example: 'https://example.com/hooks/jobstream' },
            events: { type: 'array', minItems: 1, items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] } },
          },
        },
      }),
      ApiResponse({
        status: 201,
        description: 'created; `secret` (whsec_…) is shown once',
        schema: {
          ...webhook,
          properties: {
            ...webhook.properties,
            secret: { type: 'string', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
          },
        },
      }),
      err(400, 'invalid_request: bad url (scheme, length, non-public address) or events'),
      err(429, 'quota_exceeded: the tenant has WEBHOOK_MAX_PER_TENANT endpoints'),
      err(503, 'service_unavailable'),
    ),
  list: () =>
    applyDecorators(
      ...common,
      operation("The tenant's webhook endpoints, newest first (no secrets)"),
      ApiResponse({
        status: 200,
        schema: { type: 'object', properties: { items: { type: 'array', items: webhook } } },
      }),
    ),
  remove: () =>
    applyDecorators(
      ...common,
      idParam,
      operation('Delete a webhook endpoint (its pending deliveries fail)'),
      ApiResponse({ status: 204, description: 'deleted' }),
      err(404, 'unknown endpoint, or one of another tenant'),
    ),
  deliveries: () =>
    applyDecorators(
      ...common,
      idParam,
      operation("The endpoint's delivery log, newest first, with every try"),
      ApiQuery({
        name: 'limit',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: DELIVERIES_LIMIT_MAX, default: DELIVERIES_LIMIT_DEFAULT },
      }),
      ApiQuery({ name: 'cursor', required: false, type: String, description: 'next_cursor of the previous page' }),
      ApiResponse({
        status: 200,
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: delivery }, next_cursor: { type: 'string', nullable: true } },
        },
      }),
      err(404, 'unknown endpoint, or one of another tenant'),
    ),
  redeliver: () =>
    applyDecorators(
      ...common,
      idParam,
      ApiParam({ name: 'delivery_id', example: 'msg_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' }),
      operation('Send a delivery again now (same webhook-id and body; the retry schedule starts over)'),
      ApiResponse({ status: 202, description: 'scheduled', schema: delivery }),
      err(404, 'unknown endpoint or delivery'),
    ),
};
