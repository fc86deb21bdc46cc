/** Share link tokens: format, digest, and the check made on every use (see shares.service.ts). */
import { createHash } from 'node:crypto';
import type { ShareRecord, ShareStore } from '@jobstream/share-store';
import { ApiError } from '../common/api-error.js';

const TOKEN_RE = /^sh1_[A-Za-z0-9_-]{43}$/;

export const digestOf = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** The share a token grants read access to `jobId` by; 401 when the token is unknown, revoked, expired or another job's. */
export async function verifyShareToken(shares: ShareStore, token: unknown, jobId: string): Promise<ShareRecord> {
  const bad = new ApiError(401, 'unauthorized', 'invalid, expired or revoked share_token');
  if (typeof token !== 'string' || !TOKEN_RE.test(token)) throw bad;
  const share = await shares.byDigest(digestOf(token));
  if (!share || share.job_id !== jobId) throw bad;
  return share;
}
