/**
 * The one API-key lookup behind both front doors: the HTTP guard (`Authorization: Bearer`) and the NATS guard
 * (`api_key` in the payload). Keys are compared as SHA-256 digests and never logged.
 */
import { ApiError } from '../common/api-error.js';
import type { Tenancy } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { DEFAULT_TENANT } from './auth.constants.js';
import type { FailureWindows } from './auth-failures.js';

export interface KeyCheck {
  /** Says where the key belongs, for the 401 of a missing key ("send Authorization: Bearer <key>"). */
  missingHint: string;
  /** Throttles guessing per client address (HTTP only: a NATS request has no address). */
  failures?: FailureWindows;
  address?: string;
}

/** The tenant of `key`: the default tenant with auth off, else the key's tenant or a 401 (429 while throttled). */
export function tenantOfKey(tenancy: Tenancy, key: string | null | undefined, check: KeyCheck): string {
  if (!tenancy.authEnabled) return DEFAULT_TENANT;
  if (!key) throw new ApiError(401, 'unauthorized', `missing API key: ${check.missingHint}`);
  const { failures, address } = check;
  // an address that sent too many invalid keys waits, whatever key it sends now (no guessing through the 429s)
  const waitS = failures && address !== undefined ? failures.retryAfterS(address) : 0;
  if (waitS > 0) {
    throw new ApiError(429, 'rate_limited', `too many invalid API keys from this address; retry in ${waitS} s`, {
      'Retry-After': String(waitS),
    });
  }
  const tenant = tenancy.keys.get(hashKey(key));
  if (!tenant) {
    if (failures && address !== undefined) failures.fail(address);
    throw new ApiError(401, 'unauthorized', 'invalid API key');
  }
  return tenant;
}
