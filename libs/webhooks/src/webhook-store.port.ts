/**
 * The WebhookStore port: per-tenant webhook endpoints, and their deliveries with a durable schedule of pending tries.
 * The contract every driver keeps is in docs/stores.md; `testing/webhook-store.conformance.ts` checks it.
 */
import { QuotaExceededError, type WebhookEventType } from '@jobstream/contracts';

export interface WebhookEndpoint {
  id: string;
  tenant: string;
  url: string;
  events: WebhookEventType[];
  /** `whsec_<base64 key>`; returned to the client once, at creation. */
  secret: string;
  created_at: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One try of a delivery, as shown in the delivery log. */
export interface DeliveryAttempt {
  /** 1-based number of the try. */
  attempt: number;
  at: string;
  /** HTTP status the endpoint answered, or null when it did not answer (timeout, refused, SSRF guard). */
  status_code: number | null;
  /** Why the try failed (null when it succeeded). */
  error: string | null;
  duration_ms: number;
  /** `manual` for a try caused by a redeliver request. */
  trigger: 'scheduled' | 'manual';
}

export interface Delivery {
  /** Also the message id sent as `webhook-id` (the same on every try, so receivers can deduplicate). */
  id: string;
  webhook_id: string;
  tenant: string;
  event_type: WebhookEventType;
  job_id: string;
  status: DeliveryStatus;
  created_at: string;
  updated_at: string;
  /** When the next try is due (null once settled). */
  next_attempt_at: string | null;
  /** Tries made so far (the log keeps the most recent {@link MAX_ATTEMPTS_LOGGED}). */
  attempt_count: number;
  /** Tries since the last (re)scheduling: indexes the retry schedule. */
  schedule_index: number;
  /** A redeliver asked for it: the next try is logged as `manual`. */
  manual: boolean;
  attempts: DeliveryAttempt[];
  /** The exact JSON body sent on every try. */
  payload: string;
}

export const MAX_ATTEMPTS_LOGGED = 50;

export interface NewDelivery {
  id: string;
  webhook_id: string;
  tenant: string;
  event_type: WebhookEventType;
  job_id: string;
  payload: string;
  /** One delivery per key: `<webhook>:<job>:<event type>[:<request id>]`. */
  dedupKey: string;
  now: Date;
}

/** What happens after a try. */
export type AttemptOutcome = { kind: 'delivered' } | { kind: 'retry'; at: Date } | { kind: 'failed' };

export interface WebhookStore {
  createEndpoint(ep: WebhookEndpoint, maxPerTenant: number): Promise<WebhookEndpoint>;
  /** Newest first. */
  listEndpoints(tenant: string): Promise<WebhookEndpoint[]>;
  getEndpoint(tenant: string, id: string): Promise<WebhookEndpoint | null>;
  /** By id alone (the dispatcher's view). */
  getEndpointById(id: string): Promise<WebhookEndpoint | null>;
  /** True when it existed. Its deliveries (and their schedule) go with it. */
  deleteEndpoint(tenant: string, id: string): Promise<boolean>;

  /** Stores and schedules (due now) a delivery; null when `dedupKey` was used already. */
  createDelivery(d: NewDelivery): Promise<Delivery | null>;
  getDelivery(tenant: string, webhookId: string, id: string): Promise<Delivery | null>;
  /** The endpoint's deliveries, newest first, at most `limit`, starting after the delivery id `before` (paging). */
  listDeliveries(tenant: string, webhookId: string, limit: number, before?: string | null): Promise<Delivery[]>;
  /** Due deliveries, leased for `leaseMs`, fairly between tenants (see the contract above). */
  claimDue(now: Date, limit: number, leaseMs: number, maxInFlightPerTenant?: number): Promise<Delivery[]>;
  /** Appends a try to the log and applies its outcome. Null when the delivery is gone. */
  recordAttempt(
    id: string,
    attempt: Omit<DeliveryAttempt, 'attempt' | 'trigger'>,
    outcome: AttemptOutcome,
  ): Promise<Delivery | null>;
  /** Schedules another try now, whatever the status (a redeliver request); the retry schedule starts over. */
  redeliver(tenant: string, webhookId: string, id: string, now: Date): Promise<Delivery | null>;
  /** Deliveries still scheduled (metrics). */
  pendingCount(): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The tenant's webhook-endpoint quota (answered 429 `quota_exceeded`, like every quota). */
export class WebhookLimitError extends QuotaExceededError {
  constructor(readonly max: number) {
    super('webhooks', max, undefined, `a tenant may have at most ${max} webhook endpoints; delete one first`);
  }
}

/** The store's backing service cannot be reached (maps to 503). */
export class WebhookStoreUnavailableError extends Error {
  override readonly name = 'WebhookStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The record of a new delivery, due at once (shared by every driver). */
export function newDelivery(d: NewDelivery): Delivery {
  const at = d.now.toISOString();
  return {
    id: d.id,
    webhook_id: d.webhook_id,
    tenant: d.tenant,
    event_type: d.event_type,
    job_id: d.job_id,
    status: 'pending',
    created_at: at,
    updated_at: at,
    next_attempt_at: at,
    attempt_count: 0,
    schedule_index: 0,
    manual: false,
    attempts: [],
    payload: d.payload,
  };
}

/** Applies a try to a delivery record (shared by every driver). */
export function applyAttempt(
  d: Delivery,
  attempt: Omit<DeliveryAttempt, 'attempt' | 'trigger'>,
  outcome: AttemptOutcome,
): Delivery {
  const n = d.attempt_count + 1;
  const attempts = [
    ...d.attempts,
    { attempt: n, ...attempt, trigger: d.manual ? ('manual' as const) : ('scheduled' as const) },
  ];
  return {
    ...d,
    attempt_count: n,
    schedule_index: d.schedule_index + 1,
    manual: false,
    attempts: attempts.slice(-MAX_ATTEMPTS_LOGGED),
    updated_at: attempt.at,
    status: outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'failed' ? 'failed' : 'pending',
    next_attempt_at: outcome.kind === 'retry' ? outcome.at.toISOString() : null,
  };
}

/** A delivery scheduled again at once by a redeliver request. */
export function applyRedeliver(d: Delivery, now: Date): Delivery {
  return {
    ...d,
    status: 'pending',
    schedule_index: 0,
    manual: true,
    next_attempt_at: now.toISOString(),
    updated_at: now.toISOString(),
  };
}
