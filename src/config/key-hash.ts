import { createHash } from 'node:crypto';

/** API keys are held and compared only as SHA-256 digests. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
