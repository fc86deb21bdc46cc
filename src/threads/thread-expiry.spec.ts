import { describe, expect, it } from '@jest/globals';
import { newJobId, newThreadId } from '@jobstream/contracts';
import { MemoryThreadStore, newThreadRecord } from '@jobstream/thread-store';
import type { AppConfig } from '../config/config.js';
import { ThreadExpiry } from './thread-expiry.js';
import type { ThreadsService } from './threads.service.js';

describe('ThreadExpiry', () => {
  it('deletes threads idle past the retention, never a busy one, and goes on past a thread it cannot delete', async () => {
    const threads = new MemoryThreadStore({ idempotencyTtlMs: 60_000 });
    const t0 = Date.now();
    const mk = async (at: number) => {
      const t = newThreadRecord({ id: newThreadId(), tenant: 'acme', agent: 'echo', metadata: null }, new Date(at));
      await threads.create(t);
      return t;
    };
    const old = [await mk(t0 - 10_000), await mk(t0 - 9_000), await mk(t0 - 8_000)];
    const fresh = await mk(t0);
    const busy = await mk(t0 - 10_000);
    await threads.beginTurn(busy.id, { jobId: newJobId(), ifBusy: 'reject' }); // its state changes now: busy
    const deleted: string[] = [];
    const service = {
      delete: async (_tenant: string, id: string) => {
        if (id === old[1]!.id) throw new Error('store hiccup');
        deleted.push(id);
        await threads.delete(id);
      },
    } as unknown as ThreadsService;
    const expiry = new ThreadExpiry(threads, service, { quotas: { threadRetentionMs: 5_000 } } as AppConfig);
    expect(await expiry.sweep(t0)).toEqual([old[0]!.id, old[2]!.id]);
    expect(deleted).not.toContain(fresh.id);
    expect(deleted).not.toContain(busy.id);
    expect(await threads.get(old[1]!.id)).not.toBeNull(); // tried again by the next pass
    expect(await expiry.sweep(t0 + 5_001)).toEqual([fresh.id]); // old[1] fails again, fresh is now old enough
  });
});
