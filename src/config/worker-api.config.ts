/**
 * The HTTP worker protocol's settings (`/v1/worker/*`): the worker credentials (WORKER_KEYS) and how long a lease
 * lives without an accepted request (WORKER_LEASE_S). Without WORKER_KEYS the protocol is off.
 */
import { z } from 'zod';
import { ConfigError, int } from './env.js';

export const workerApiEnvShape = {
  WORKER_KEYS: z.string().optional(),
  WORKER_LEASE_S: int('WORKER_LEASE_S', 1, 3_600, 30),
};

/** Worker keys must be at least this long (they let a process write any tenant's job output). */
export const WORKER_KEY_MIN_CHARS = 32;

export interface WorkerApiSettings {
  /** sha256(key) hex → worker name. Empty when the protocol is off. */
  keys: Map<string, string>;
  enabled: boolean;
  leaseMs: number;
}

/** Parses WORKER_KEYS (`<worker>:<key>,…`); never echoes a key. */
export function workerApiValues(
  v: { WORKER_KEYS?: string; WORKER_LEASE_S: number; JOB_STALL_TIMEOUT_MS: number },
  hash: (key: string) => string,
  tenantKeys: ReadonlyMap<string, string>,
): WorkerApiSettings {
  const keys = new Map<string, string>();
  for (const [i, entry] of (v.WORKER_KEYS ?? '').split(',').entries()) {
    const e = entry.trim();
    if (!e) continue;
    const at = e.indexOf(':');
    const name = at > 0 ? e.slice(0, at).trim() : '';
    const key = at > 0 ? e.slice(at + 1).trim() : '';
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || key.length < WORKER_KEY_MIN_CHARS) {
      throw new ConfigError(
        `WORKER_KEYS entry #${i + 1} must be worker:key with a worker name of [A-Za-z0-9_.-] and a key of at least ${WORKER_KEY_MIN_CHARS} characters`,
      );
    }
    const h = hash(key);
    if (tenantKeys.has(h)) throw new ConfigError(`WORKER_KEYS entry #${i + 1} reuses a tenant's key (API_KEYS)`);
    if (keys.has(h) && keys.get(h) !== name)
      throw new ConfigError(`WORKER_KEYS entry #${i + 1} reuses another worker's key`);
    keys.set(h, name);
  }
  const leaseMs = v.WORKER_LEASE_S * 1000;
  if (keys.size > 0 && leaseMs >= 2 * v.JOB_STALL_TIMEOUT_MS) {
    // the watchdog ends a job silent for 2 × JOB_STALL_TIMEOUT_MS: a lease must lapse (and be retried) before that
    throw new ConfigError(
      `invalid configuration:\n  - WORKER_LEASE_S (${v.WORKER_LEASE_S}) must be shorter than 2 × JOB_STALL_TIMEOUT_MS (${v.JOB_STALL_TIMEOUT_MS} ms): a lapsed lease is retried before the watchdog ends a silent job`,
    );
  }
  return { keys, enabled: keys.size > 0, leaseMs };
}
