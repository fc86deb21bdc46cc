/** Tenant used for every request when authentication is off (API_KEYS unset). */
export const DEFAULT_TENANT = 'default';
/** Marks a handler as reachable without an API key. */
export const PUBLIC_ROUTE = 'jobstream:public';
