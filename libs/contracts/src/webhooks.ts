/** Webhooks: the event types an endpoint subscribes to, the create request, and the delivered payload. */
import { z } from 'zod';
import type { EventType } from './events.js';
import { newUlid } from './ids.js';
import type { Job } from './job.js';

export const WEBHOOK_EVENT_TYPES = ['job.completed', 'job.failed', 'job.cancelled', 'job.input_required'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The job event that triggers each webhook event type. */
export const WEBHOOK_EVENT_OF: Readonly<Partial<Record<EventType, WebhookEventType>>> = {
  done: 'job.completed',
  error: 'job.failed',
  cancelled: 'job.cancelled',
  input_required: 'job.input_required',
};

export const WEBHOOK_URL_MAX = 2048;

export const createWebhookRequestSchema = z.strictObject({
  url: z.string().min(1, 'url is required').max(WEBHOOK_URL_MAX, `url must be at most ${WEBHOOK_URL_MAX} characters`),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES))
    .min(1, 'events must list at least one event type')
    .max(WEBHOOK_EVENT_TYPES.length)
    .refine((a) => new Set(a).size === a.length, { message: 'events must not repeat a type' }),
});
export type CreateWebhookRequest = z.infer<typeof createWebhookRequestSchema>;

/** A webhook endpoint as the API returns it (the secret only in the create response). */
export interface WebhookView {
  id: string;
  url: string;
  events: WebhookEventType[];
  created_at: string;
  secret?: string;
}

/** The JSON body of every delivery (Standard Webhooks). */
export interface WebhookPayload {
  type: WebhookEventType;
  /** ISO time of the job event that caused it. */
  timestamp: string;
  data: { job: Job };
}

export const newWebhookId = (now = Date.now()): string => `wh_${newUlid(now)}`;
/** Delivery ids double as Standard Webhooks message ids (`webhook-id`). */
export const newDeliveryId = (now = Date.now()): string => `msg_${newUlid(now)}`;
export const WEBHOOK_ID_PATTERN = /^wh_[0-9A-HJKMNP-TV-Z]{26}$/;
export const DELIVERY_ID_PATTERN = /^msg_[0-9A-HJKMNP-TV-Z]{26}$/;
