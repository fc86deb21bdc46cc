/** DI tokens and limits of the webhooks feature. */
export const WEBHOOK_STORE = Symbol('WEBHOOK_STORE');

export const DELIVERIES_LIMIT_DEFAULT = 20;
export const DELIVERIES_LIMIT_MAX = 100;
