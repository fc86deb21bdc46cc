/**
 * The ShareStore port: read-only share links of a job. Only a digest of each token is stored (SHA-256 of the
 * token), never the token.
 *
 * Contract (checked by `testing/share-store.conformance.ts` against every driver):
 * - `byDigest` answers the share of a digest while it is neither revoked nor expired, else null — read from the
 *   backing store on every call (no cache), so that a revocation is seen by every process at once.
 * - `list(jobId)` the job's live shares, oldest first. `delete` revokes one; `deleteForJob` all of a job's.
 */
export interface ShareRecord {
  id: string;
  tenant: string;
  job_id: string;
  /** SHA-256 of the token, hex. */
  token_digest: string;
  created_at: string;
  expires_at: string;
}

export interface ShareStore {
  create(share: ShareRecord): Promise<void>;
  byDigest(digest: string): Promise<ShareRecord | null>;
  list(jobId: string): Promise<ShareRecord[]>;
  delete(jobId: string, shareId: string): Promise<boolean>;
  deleteForJob(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export class ShareStoreUnavailableError extends Error {
  override readonly name = 'ShareStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
