/**
 * `client.webhooks`: webhook endpoints and their delivery logs. Deliveries are signed per Standard Webhooks;
 * verify them on your side with the `standardwebhooks` package: `new Webhook(secret).verify(rawBody, headers)`.
 */
import type { Job } from '@jobstream/contracts/job';
import { errorFromResponse } from './errors.js';
import type { Transport } from './transport.js';

/** The event types an endpoint subscribes to (the contract's `WEBHOOK_EVENT_TYPES`). */
export type WebhookEventType = 'job.completed' | 'job.failed' | 'job.cancelled' | 'job.input_required';

/** The JSON body of every delivery. */
export interface WebhookPayload {
  type: WebhookEventType;
  timestamp: string;
  data: { job: Job };
}

interface WebhookView {
  id: string;
  url: string;
  events: WebhookEventType[];
  created_at: string;
}

export interface RequestOpts {
  signal?: AbortSignal;
}

/** A webhook endpoint; `secret` (`whsec_…`) only in the answer to `create`. */
export type Webhook = WebhookView;
export type CreatedWebhook = WebhookView & { secret: string };

// keeps the SDK's copy of the event types in step with the contract's (a compile error otherwise)
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const typesInStep: Same<WebhookEventType, import('@jobstream/contracts/webhooks').WebhookEventType> = true;
void typesInStep;

export interface WebhookDeliveryAttempt {
  attempt: number;
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  trigger: 'scheduled' | 'manual';
}

export interface WebhookDelivery {
  /** Also the `webhook-id` header of every try. */
  id: string;
  webhook_id: string;
  event_type: WebhookEventType;
  job_id: string;
  status: 'pending' | 'delivered' | 'failed';
  created_at: string;
  updated_at: string;
  next_attempt_at: string | null;
  attempt_count: number;
  attempts: WebhookDeliveryAttempt[];
}

export interface DeliveryPage {
  items: WebhookDelivery[];
  next_cursor: string | null;
}

export interface WebhooksApi {
  /** `POST /v1/webhooks` — keep the returned `secret`: it is shown only once. */
  create(body: { url: string; events: WebhookEventType[] }, options?: RequestOpts): Promise<CreatedWebhook>;
  /** `GET /v1/webhooks` */
  list(options?: RequestOpts): Promise<Webhook[]>;
  /** `DELETE /v1/webhooks/:id` */
  delete(webhookId: string, options?: RequestOpts): Promise<void>;
  /** `GET /v1/webhooks/:id/deliveries` — newest first. */
  deliveries(webhookId: string, params?: RequestOpts & { limit?: number; cursor?: string }): Promise<DeliveryPage>;
  /** `POST /v1/webhooks/:id/deliveries/:delivery_id/redeliver` */
  redeliver(webhookId: string, deliveryId: string, options?: RequestOpts): Promise<WebhookDelivery>;
}

export function createWebhooksApi(t: Transport): WebhooksApi {
  const seg = (v: string, what: string) => {
    if (!v) throw new TypeError(`jobstream: ${what} is required`);
    return encodeURIComponent(v);
  };
  const sig = (o?: RequestOpts) => (o?.signal ? { signal: o.signal } : {});
  return {
    async create(body, o) {
      return (await t.json<CreatedWebhook>('POST', '/v1/webhooks', { body, ...sig(o) })).body;
    },
    async list(o) {
      return (await t.json<{ items: Webhook[] }>('GET', '/v1/webhooks', sig(o))).body.items;
    },
    async delete(webhookId, o) {
      const init: RequestInit = { method: 'DELETE', headers: t.headers({ Accept: 'application/json' }), ...sig(o) };
      const res = await t.fetch(t.url(`/v1/webhooks/${seg(webhookId, 'webhookId')}`), init);
      if (!res.ok) throw await errorFromResponse(res);
      await res.body?.cancel();
    },
    async deliveries(webhookId, p) {
      const query = { limit: p?.limit, cursor: p?.cursor };
      return (
        await t.json<DeliveryPage>('GET', `/v1/webhooks/${seg(webhookId, 'webhookId')}/deliveries`, {
          query,
          ...sig(p),
        })
      ).body;
    },
    async redeliver(webhookId, deliveryId, o) {
      const path = `/v1/webhooks/${seg(webhookId, 'webhookId')}/deliveries/${seg(deliveryId, 'deliveryId')}/redeliver`;
      return (await t.json<WebhookDelivery>('POST', path, { body: {}, ...sig(o) })).body;
    },
  };
}
