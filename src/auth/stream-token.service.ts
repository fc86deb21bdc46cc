/**
 * Browser stream tokens. `EventSource` cannot send an Authorization header, so a client holding an API key asks for
 * a short-lived token scoped to ONE job and passes it as `?access_token=` on that job's SSE stream — the only
 * endpoint that accepts it (read-only).
 *
 * Format: `st1.<payload>.<signature>`, both base64url; payload = JSON `{ v, t: tenant, j: job id, exp: unix s }`;
 * signature = HMAC-SHA256(secret, "st1.<payload>"), compared in constant time. Stateless, so every API instance
 * that shares STREAM_TOKEN_SECRET accepts it. Without STREAM_TOKEN_SECRET a random per-process secret is used and
 * tokens only work on the instance that issued them (a warning says so at start). Tokens are never logged.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { STREAM_TOKEN_CLOCK, systemClock, type Clock } from './auth.constants.js';

const PREFIX = 'st1';
/** Far longer than any real token; bounds the work done on garbage input. */
const MAX_TOKEN_LENGTH = 1024;

export interface IssuedStreamToken {
  token: string;
  /** ISO time after which the token is refused. */
  expires_at: string;
  /** The job's stream URL with the token, relative to the API's base URL. */
  stream_url: string;
}

export interface StreamTokenClaims {
  tenant: string;
  jobId: string;
  /** Expiry, unix seconds. */
  exp: number;
}

interface Payload {
  v: 1;
  t: string;
  j: string;
  exp: number;
}

@Injectable()
export class StreamTokenService {
  private readonly logger = new Logger('StreamTokens');
  private readonly secret: Buffer;
  /** Tenants that may hold tokens (when auth is on): a token of a tenant removed from API_KEYS is refused. */
  private readonly tenants: ReadonlySet<string> | null;

  constructor(
    private readonly config: AppConfig,
    @Optional() @Inject(STREAM_TOKEN_CLOCK) private readonly clock: Clock = systemClock,
  ) {
    if (config.streamTokenSecret) {
      this.secret = Buffer.from(config.streamTokenSecret, 'utf8');
    } else {
      this.secret = randomBytes(32);
      this.logger.warn(
        'STREAM_TOKEN_SECRET is unset: browser stream tokens are signed with a random per-process secret and work only on this instance (and not after a restart). Set the same STREAM_TOKEN_SECRET (≥ 32 chars) on every API instance.',
      );
    }
    this.tenants = config.tenancy.authEnabled ? new Set(config.tenancy.keys.values()) : null;
  }

  /** A token for `tenant` to read the stream of job `jobId`; the caller has checked that the job is the tenant's. */
  issue(tenant: string, jobId: string): IssuedStreamToken {
    const exp = Math.floor(this.clock.now() / 1000) + this.config.streamTokenTtlS;
    const payload: Payload = { v: 1, t: tenant, j: jobId, exp };
    const body = `${PREFIX}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
    const token = `${body}.${this.sign(body).toString('base64url')}`;
    return {
      token,
      expires_at: new Date(exp * 1000).toISOString(),
      stream_url: `/v1/jobs/${encodeURIComponent(jobId)}/stream?access_token=${encodeURIComponent(token)}`,
    };
  }

  /**
   * The claims of a valid, unexpired token for job `jobId`; otherwise a 401 `unauthorized` (tampered, expired,
   * malformed, another job's, or a tenant that no longer has a key). The message never echoes the token.
   */
  verify(token: unknown, jobId: string): StreamTokenClaims {
    const payload = this.decode(token);
    if (!payload) throw new ApiError(401, 'unauthorized', 'invalid stream token');
    if (payload.exp * 1000 <= this.clock.now())
      throw new ApiError(401, 'unauthorized', 'stream token expired; request a new one');
    if (payload.j !== jobId) throw new ApiError(401, 'unauthorized', 'this stream token is for another job');
    if (this.tenants && !this.tenants.has(payload.t)) throw new ApiError(401, 'unauthorized', 'invalid stream token');
    return { tenant: payload.t, jobId: payload.j, exp: payload.exp };
  }

  private sign(body: string): Buffer {
    return createHmac('sha256', this.secret).update(body, 'utf8').digest();
  }

  /** The payload when the token is well-formed and its signature holds; null otherwise. */
  private decode(token: unknown): Payload | null {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) return null;
    const [, payloadPart, sigPart] = parts as [string, string, string];
    if (!/^[A-Za-z0-9_-]+$/.test(payloadPart) || !/^[A-Za-z0-9_-]+$/.test(sigPart)) return null;
    // Compare the canonical base64url text, not decoded bytes: a lenient decoder ignores the low bits of the last
    // character, so a token whose last character was changed would otherwise still pass.
    const given = Buffer.from(sigPart, 'ascii');
    const expected = Buffer.from(this.sign(`${PREFIX}.${payloadPart}`).toString('base64url'), 'ascii');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    // only a payload we signed gets this far
    let p: unknown;
    try {
      p = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    const o = p as Partial<Payload> | null;
    if (!o || o.v !== 1 || typeof o.t !== 'string' || typeof o.j !== 'string' || !Number.isInteger(o.exp)) return null;
    return o as Payload;
  }
}
