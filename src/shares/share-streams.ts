/**
 * Ends the streams opened with a share link once the share is revoked or expires, on every API process: each
 * process looks, every {@link ShareStreams.CHECK_MS}, at the shares its open streams were opened with — the expiry
 * locally, the revocation with one share-store read per distinct share (the store is the one truth across processes).
 * A revoke's answer is thus followed within a second or two by the end of its streams everywhere (the contract
 * allows 5 s); a reconnect with the token is refused (401).
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ShareStore } from '@jobstream/share-store';
import { SHARE_STORE } from '../engine/engine.constants.js';
import { SseConnections } from '../sse/sse-connections.js';

@Injectable()
export class ShareStreams implements OnApplicationBootstrap, OnApplicationShutdown {
  /** How often open share streams are checked against their share. */
  static readonly CHECK_MS = 1_000;
  private readonly logger = new Logger('Shares');
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly connections: SseConnections,
    @Inject(SHARE_STORE) private readonly shares: ShareStore,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.checking ??= this.check().finally(() => (this.checking = null));
    }, ShareStreams.CHECK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
  }

  /** One pass: ends the streams of every expired or revoked share (a share the store cannot answer for stays). */
  async check(now = Date.now()): Promise<void> {
    const open = [...this.connections.sharedStreams()].map(([id, set]) => ({ id, streams: [...set] }));
    await Promise.all(
      open.map(async ({ id, streams }) => {
        const share = streams[0]!.share!;
        let gone = share.expiresAt <= now;
        if (!gone) {
          try {
            gone = (await this.shares.byDigest(share.digest))?.id !== id;
          } catch {
            return; // the store is out: look again next time (an expiry is still caught locally)
          }
        }
        if (!gone) return;
        for (const c of streams) c.end('revoked');
        this.logger.log({ msg: 'share link gone; its streams ended', share_id: id, streams: streams.length });
      }),
    );
  }
}
