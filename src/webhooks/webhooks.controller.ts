/** REST endpoints of webhooks (thin: validation in pipes, rules in WebhooksService). */
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import {
  DELIVERY_ID_PATTERN,
  WEBHOOK_ID_PATTERN,
  createWebhookRequestSchema,
  type CreateWebhookRequest,
  type WebhookView,
} from '@jobstream/contracts';
import { ApiKeyGuard, Tenant } from '../auth/api-key.guard.js';
import { ApiError } from '../common/api-error.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ApiWebhooksDocs } from '../docs/webhooks.docs.js';
import { DELIVERIES_LIMIT_DEFAULT, DELIVERIES_LIMIT_MAX } from './webhooks.constants.js';
import { WebhooksService, type DeliveryView } from './webhooks.service.js';

const deliveriesQuerySchema = z.object({
  limit: z
    .preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), z.string().optional())
    .transform((v, ctx) => {
      if (v === undefined || v === '') return DELIVERIES_LIMIT_DEFAULT;
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > DELIVERIES_LIMIT_MAX) {
        ctx.addIssue({ code: 'custom', message: `limit must be an integer from 1 to ${DELIVERIES_LIMIT_MAX}` });
        return z.NEVER;
      }
      return Number(v);
    }),
  cursor: z
    .preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), z.string().optional())
    .refine((v) => v === undefined || v === '' || DELIVERY_ID_PATTERN.test(v), { message: 'malformed cursor' }),
});
type DeliveriesQuery = z.infer<typeof deliveriesQuerySchema>;

/** A malformed id cannot name anything: 404 like any unknown one (no probing of id formats). */
function webhookId(id: string): string {
  if (!WEBHOOK_ID_PATTERN.test(id)) throw ApiError.notFound('webhook');
  return id;
}

@Controller('v1/webhooks')
@UseGuards(ApiKeyGuard)
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiWebhooksDocs.create()
  create(
    @Tenant() tenant: string,
    @Body(new ZodValidationPipe(createWebhookRequestSchema)) body: CreateWebhookRequest,
  ): Promise<WebhookView> {
    return this.webhooks.create(tenant, body);
  }

  @Get()
  @ApiWebhooksDocs.list()
  list(@Tenant() tenant: string): Promise<{ items: WebhookView[] }> {
    return this.webhooks.list(tenant);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiWebhooksDocs.remove()
  async remove(@Tenant() tenant: string, @Param('id') id: string): Promise<void> {
    await this.webhooks.remove(tenant, webhookId(id));
  }

  @Get(':id/deliveries')
  @ApiWebhooksDocs.deliveries()
  deliveries(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Query(new ZodValidationPipe(deliveriesQuerySchema, 'query')) q: DeliveriesQuery,
  ): Promise<{ items: DeliveryView[]; next_cursor: string | null }> {
    return this.webhooks.deliveries(tenant, webhookId(id), q.limit, q.cursor || undefined);
  }

  @Post(':id/deliveries/:delivery_id/redeliver')
  @HttpCode(202)
  @ApiWebhooksDocs.redeliver()
  redeliver(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Param('delivery_id') deliveryId: string,
  ): Promise<DeliveryView> {
    if (!DELIVERY_ID_PATTERN.test(deliveryId)) throw ApiError.notFound('delivery');
    return this.webhooks.redeliver(tenant, webhookId(id), deliveryId);
  }
}
