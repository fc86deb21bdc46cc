/** DI tokens and limits of the webhooks feature. */
export const WEBHOOK_STORE = Symbol('WEBHOOK_STORE');

export const DELIVERIES_LIMIT_DEFAULT = 20;
export const DELIVERIES_LIMIT_MAX = 100;
/** How long a claimed delivery is held by the claiming process beyond its timeout, before others may try it. */
export const CLAIM_LEASE_MARGIN_MS = 30_000;
