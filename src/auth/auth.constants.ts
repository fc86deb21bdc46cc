/** Tenant used for every request when authentication is off (API_KEYS unset). */
export const DEFAULT_TENANT = 'default';
/** Marks a handler as reachable without an API key. */
export const PUBLIC_ROUTE = 'jobstream:public';
/** Marks a handler as accepting a browser stream token (`?access_token=`) instead of an API key. */
export const STREAM_TOKEN_ROUTE = 'jobstream:stream-token';
/** Marks a handler as accepting a share link token (`?share_token=`) for its `:id` job (read-only GETs only). */
export const SHARE_TOKEN_ROUTE = 'jobstream:share-token';
/** DI token of the {@link Clock} the stream tokens are issued and checked against (tests inject their own). */
export const STREAM_TOKEN_CLOCK = Symbol('STREAM_TOKEN_CLOCK');

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
