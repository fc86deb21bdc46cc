import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { ShareRecord, ShareStore } from '@jobstream/share-store';
import type { SseConnection, SseConnections, StreamShare } from '../sse/sse-connections.js';
import { ShareStreams } from './share-streams.js';

const share = (id: string, expiresAt: number): StreamShare => ({ id, digest: `d-${id}`, expiresAt });
const conn = (s: StreamShare) => ({ share: s, end: jest.fn() }) as unknown as SseConnection & { end: jest.Mock };

function setup(streams: SseConnection[], byDigest: (digest: string) => Promise<ShareRecord | null>) {
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => {});
  const map = new Map<string, Set<SseConnection>>();
  for (const c of streams) map.set(c.share!.id, (map.get(c.share!.id) ?? new Set()).add(c));
  const connections = { sharedStreams: () => map } as unknown as SseConnections;
  const store = { byDigest: jest.fn(byDigest) } as unknown as ShareStore & { byDigest: jest.Mock };
  return { watcher: new ShareStreams(connections, store), store };
}

describe('ShareStreams.check', () => {
  const now = Date.now();
  it('ends the streams of a revoked share and of an expired one (the expiry without a store read)', async () => {
    const live = share('sh_live', now + 60_000);
    const revoked = share('sh_revoked', now + 60_000);
    const expired = share('sh_expired', now - 1);
    const [a, b1, b2, c] = [conn(live), conn(revoked), conn(revoked), conn(expired)];
    const { watcher, store } = setup([a, b1, b2, c], async (d) =>
      d === live.digest ? ({ id: live.id } as ShareRecord) : null,
    );
    await watcher.check(now);
    expect(a.end).not.toHaveBeenCalled();
    for (const x of [b1, b2, c]) expect(x.end).toHaveBeenCalledWith('revoked');
    expect(store.byDigest.mock.calls.map((x) => x[0]).sort()).toEqual([live.digest, revoked.digest]);
  });

  it('keeps the streams open while the share store cannot answer', async () => {
    const s = conn(share('sh_x', now + 60_000));
    const { watcher } = setup([s], async () => {
      throw new Error('store down');
    });
    await watcher.check(now);
    expect(s.end).not.toHaveBeenCalled();
  });
});
