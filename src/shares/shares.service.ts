/**
 * Share links: read-only, revocable, expiring tokens for one job, for people outside the tenant.
 *
 * A token is `sh1_` + 32 random bytes (base64url). Only its SHA-256 digest is stored (the share store), so a leak
 * of the store reveals no usable token; the token is shown once, in the create answer, and never logged (the
 * logger redacts `share_token`). Every use looks the digest up in the store — no cache — so a revocation holds on
 * every API process at once.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  SHARE_DEFAULT_TTL_S,
  SHARE_ID_PATTERN,
  SHARES_PER_JOB_MAX,
  newShareId,
  type IssuedShare,
  type Share,
} from '@jobstream/contracts';
import type { ShareRecord, ShareStore } from '@jobstream/share-store';
import { ApiError } from '../common/api-error.js';
import { SHARE_STORE } from '../engine/engine.constants.js';
import { JobsService } from '../jobs/jobs.service.js';
import { digestOf } from './share-token.js';

function publicShare(s: ShareRecord): Share {
  return { id: s.id, job_id: s.job_id, created_at: s.created_at, expires_at: s.expires_at };
}

@Injectable()
export class SharesService {
  private readonly logger = new Logger('Shares');

  constructor(
    @Inject(SHARE_STORE) private readonly shares: ShareStore,
    private readonly jobs: JobsService,
  ) {}

  async create(tenant: string, jobId: string, expiresInS = SHARE_DEFAULT_TTL_S): Promise<IssuedShare> {
    await this.jobs.record(tenant, jobId);
    if ((await this.shares.list(jobId)).length >= SHARES_PER_JOB_MAX) {
      throw new ApiError(409, 'conflict', `a job has at most ${SHARES_PER_JOB_MAX} live share links; revoke one first`);
    }
    const token = `sh1_${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    const share: ShareRecord = {
      id: newShareId(now),
      tenant,
      job_id: jobId,
      token_digest: digestOf(token),
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + expiresInS * 1000).toISOString(),
    };
    await this.shares.create(share);
    this.logger.log({
      msg: 'share link created',
      job_id: jobId,
      share_id: share.id,
      tenant,
      expires_at: share.expires_at,
    });
    const q = `share_token=${token}`;
    return {
      ...publicShare(share),
      token,
      stream_url: `/v1/jobs/${jobId}/stream?${q}`,
      events_url: `/v1/jobs/${jobId}/events?${q}`,
      job_url: `/v1/jobs/${jobId}?${q}`,
    };
  }

  async list(tenant: string, jobId: string): Promise<{ items: Share[] }> {
    await this.jobs.record(tenant, jobId);
    return { items: (await this.shares.list(jobId)).map(publicShare) };
  }

  async revoke(tenant: string, jobId: string, shareId: string): Promise<void> {
    await this.jobs.record(tenant, jobId);
    if (!SHARE_ID_PATTERN.test(shareId) || !(await this.shares.delete(jobId, shareId)))
      throw ApiError.notFound('share');
    this.logger.log({ msg: 'share link revoked', job_id: jobId, share_id: shareId, tenant });
  }
}
