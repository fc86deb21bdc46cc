/**
 * One HTTP try of a delivery: POST the JSON body with the Standard Webhooks headers, never following redirects (a
 * 3xx is a failed try), with one deadline for connect + answer, the SSRF guard applied to the addresses actually
 * connected to, and the answer's body read (at most a few KiB) and dropped. Never throws: the outcome says what
 * happened, for the delivery log.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { UnsafeWebhookUrlError, guardedLookup, isBlockedAddress } from './ssrf-guard.js';

export interface SendResult {
  ok: boolean;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  userAgent?: string;
}

const MAX_ANSWER_BYTES = 16 * 1024;

export function sendWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: SendOptions,
): Promise<SendResult> {
  const started = performance.now();
  const done = (status_code: number | null, error: string | null): SendResult => ({
    ok: error === null && status_code !== null && status_code >= 200 && status_code < 300,
    status_code,
    error,
    duration_ms: Math.round(performance.now() - started),
  });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve(done(null, 'malformed url'));
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!opts.allowPrivate && isIP(host) && isBlockedAddress(host)) {
    return Promise.resolve(done(null, 'refused: the url points at a non-public address'));
  }
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = mod.request(
      u,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': opts.userAgent ?? 'jobstream-webhooks/1',
        },
        agent: false,
        ...(opts.allowPrivate ? {} : { lookup: guardedLookup() }),
      },
      (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got > MAX_ANSWER_BYTES) res.destroy();
        });
        const status = res.statusCode ?? null;
        const end = () => {
          const s = status ?? 0;
          const err =
            s >= 200 && s < 300
              ? null
              : s >= 300 && s < 400
                ? `redirect (${s}) not followed`
                : `endpoint answered ${s}`;
          finish(done(status, err));
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
      },
    );
    const timer = setTimeout(() => {
      finish(done(null, `no answer within ${opts.timeoutMs} ms`));
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (err: Error) => {
      const cause = (err as { cause?: unknown }).cause;
      const unsafe = err instanceof UnsafeWebhookUrlError || cause instanceof UnsafeWebhookUrlError;
      finish(
        done(
          null,
          unsafe ? `refused: ${err.message}` : `request failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
        ),
      );
    });
    req.end(body);
  });
}
