/**
 * Webhook endpoints (per tenant) and the fan-out of job events into deliveries. Sending is the dispatcher's job.
 *
 * How job events get here: the engine's {@link JobEventFeed} hands over each terminal / `input_required` event
 * found in the event log (see `libs/webhooks/src/job-event-feed.ts`); `onJobEvent` creates one delivery per
 * subscribed endpoint of the job's tenant, keyed `<webhook>:<job>:<type>[:<request>]` so that an event observed
 * twice still yields one delivery. The payload is fixed at that moment (the job as the API shows it, with the
 * outcome taken from the event when the store has not caught up yet), so every try sends the same bytes.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  WEBHOOK_EVENT_OF,
  newDeliveryId,
  newWebhookId,
  type CreateWebhookRequest,
  type WebhookPayload,
  type WebhookView,
} from '@jobstream/contracts';
import type { LoggedEvent } from '@jobstream/event-log';
import type { JobStore } from '@jobstream/job-store';
import { type Delivery, type WebhookEndpoint, type WebhookStore } from '@jobstream/webhooks';
import { ApiError } from '../common/api-error.js';
import { Quotas } from '../quotas/quotas.service.js';
import { AppConfig } from '../config/config.js';
import { JOB_STORE } from '../engine/engine.constants.js';
import { toJob } from '../jobs/job-view.js';
import { UnsafeWebhookUrlError, checkResolvedHost, checkWebhookUrl } from './ssrf-guard.js';
import { isIP } from 'node:net';
import { WebhookMetrics } from './webhook-metrics.js';
import { WEBHOOK_STORE } from './webhooks.constants.js';

/** A delivery as the API shows it (no tenant, no payload, no internal scheduling fields). */
export interface DeliveryView {
  id: string;
  webhook_id: string;
  event_type: string;
  job_id: string;
  status: Delivery['status'];
  created_at: string;
  updated_at: string;
  next_attempt_at: string | null;
  attempt_count: number;
  attempts: Delivery['attempts'];
}

export const toDeliveryView = (d: Delivery): DeliveryView => ({
  id: d.id,
  webhook_id: d.webhook_id,
  event_type: d.event_type,
  job_id: d.job_id,
  status: d.status,
  created_at: d.created_at,
  updated_at: d.updated_at,
  next_attempt_at: d.next_attempt_at,
  attempt_count: d.attempt_count,
  attempts: d.attempts,
});

const toView = (e: WebhookEndpoint, withSecret = false): WebhookView => ({
  id: e.id,
  url: e.url,
  events: e.events,
  created_at: e.created_at,
  ...(withSecret ? { secret: e.secret } : {}),
});

/** Called when a delivery is created, so the dispatcher tries it at once instead of at its next poll. */
export type DeliveryCreatedHook = () => void;

@Injectable()
export class WebhooksService {
  private readonly logger = new Logger('Webhooks');
  private onCreated: DeliveryCreatedHook = () => {};

  constructor(
    @Inject(WEBHOOK_STORE) private readonly store: WebhookStore,
    @Inject(JOB_STORE) private readonly jobs: JobStore,
    private readonly config: AppConfig,
    private readonly metrics: WebhookMetrics,
    private readonly quotas: Quotas,
  ) {}

  setDeliveryCreatedHook(hook: DeliveryCreatedHook): void {
    this.onCreated = hook;
  }

  async create(tenant: string, body: CreateWebhookRequest): Promise<WebhookView> {
    const allowPrivate = this.config.webhooks.allowPrivate;
    let url: URL;
    try {
      url = checkWebhookUrl(body.url, allowPrivate);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      // A name is resolved now too; a name that does not resolve (yet) is accepted and checked at every try.
      if (!allowPrivate && !isIP(host))
        await checkResolvedHost(host).catch((err: unknown) => {
          if (err instanceof UnsafeWebhookUrlError) throw err;
        });
    } catch (err) {
      if (err instanceof UnsafeWebhookUrlError) throw ApiError.invalid(err.message);
      throw err;
    }
    const ep: WebhookEndpoint = {
      id: newWebhookId(),
      tenant,
      url: url.href,
      events: body.events,
      secret: `whsec_${randomBytes(32).toString('base64')}`,
      created_at: new Date().toISOString(),
    };
    await this.quotas.enforce(() => this.store.createEndpoint(ep, this.config.webhooks.maxPerTenant));
    this.logger.log({
      msg: 'webhook endpoint created',
      tenant,
      webhook_id: ep.id,
      origin: url.origin,
      events: ep.events,
    });
    return toView(ep, true);
  }

  async list(tenant: string): Promise<{ items: WebhookView[] }> {
    return { items: (await this.store.listEndpoints(tenant)).map((e) => toView(e)) };
  }

  async remove(tenant: string, id: string): Promise<void> {
    if (!(await this.store.deleteEndpoint(tenant, id))) throw ApiError.notFound('webhook');
    this.logger.log({ msg: 'webhook endpoint deleted', tenant, webhook_id: id });
  }

  async deliveries(
    tenant: string,
    id: string,
    limit: number,
    before?: string,
  ): Promise<{ items: DeliveryView[]; next_cursor: string | null }> {
    if (!(await this.store.getEndpoint(tenant, id))) throw ApiError.notFound('webhook');
    const items = await this.store.listDeliveries(tenant, id, limit + 1, before ?? null);
    const page = items.slice(0, limit);
    return { items: page.map(toDeliveryView), next_cursor: items.length > limit ? page[page.length - 1]!.id : null };
  }

  async redeliver(tenant: string, id: string, deliveryId: string): Promise<DeliveryView> {
    if (!(await this.store.getEndpoint(tenant, id))) throw ApiError.notFound('webhook');
    const d = await this.store.redeliver(tenant, id, deliveryId, new Date());
    if (!d) throw ApiError.notFound('delivery');
    this.onCreated();
    return toDeliveryView(d);
  }

  /** The feed's handler: one delivery per subscribed endpoint. Throws (so the feed retries) when a store fails. */
  async onJobEvent(logged: LoggedEvent): Promise<void> {
    const e = logged.event;
    const type = WEBHOOK_EVENT_OF[e.type];
    if (!type) return;
    const rec = await this.jobs.get(e.job_id);
    if (!rec) return; // deleted or expired: nobody to tell
    const endpoints = (await this.store.listEndpoints(rec.tenant)).filter((ep) => ep.events.includes(type));
    if (endpoints.length === 0) return;
    const job = toJob(rec, logged);
    if (e.type === 'input_required' && (job.status === 'running' || job.status === 'queued'))
      job.status = 'waiting_for_input';
    const payload: WebhookPayload = { type, timestamp: e.ts, data: { job } };
    const body = JSON.stringify(payload);
    const now = new Date();
    const request = e.type === 'input_required' ? `:${e.request_id}` : '';
    let created = 0;
    for (const ep of endpoints) {
      const d = await this.store.createDelivery({
        id: newDeliveryId(),
        webhook_id: ep.id,
        tenant: rec.tenant,
        event_type: type,
        job_id: e.job_id,
        payload: body,
        dedupKey: `${ep.id}:${e.job_id}:${type}${request}`,
        now,
      });
      if (d) {
        created++;
        this.metrics.deliveryCreated(type);
      }
    }
    if (created > 0) this.onCreated();
  }
}
