/** The embedded engine's share store: in-process, same contract as the Redis driver. */
import type { ShareRecord, ShareStore } from './share-store.port.js';

export class MemoryShareStore implements ShareStore {
  private readonly byJob = new Map<string, Map<string, ShareRecord>>();
  private readonly digests = new Map<string, ShareRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  async create(share: ShareRecord): Promise<void> {
    const m = this.byJob.get(share.job_id) ?? new Map<string, ShareRecord>();
    m.set(share.id, { ...share });
    this.byJob.set(share.job_id, m);
    this.digests.set(share.token_digest, { ...share });
  }

  async byDigest(digest: string): Promise<ShareRecord | null> {
    const s = this.digests.get(digest);
    if (!s) return null;
    if (Date.parse(s.expires_at) <= this.now()) {
      this.remove(s);
      return null;
    }
    return { ...s };
  }

  async list(jobId: string): Promise<ShareRecord[]> {
    const m = this.byJob.get(jobId);
    if (!m) return [];
    const live: ShareRecord[] = [];
    for (const s of [...m.values()]) {
      if (Date.parse(s.expires_at) <= this.now()) this.remove(s);
      else live.push({ ...s });
    }
    return live.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async delete(jobId: string, shareId: string): Promise<boolean> {
    const s = this.byJob.get(jobId)?.get(shareId);
    if (!s) return false;
    this.remove(s);
    return true;
  }

  async deleteForJob(jobId: string): Promise<void> {
    for (const s of [...(this.byJob.get(jobId)?.values() ?? [])]) this.remove(s);
  }

  async close(): Promise<void> {}

  private remove(s: ShareRecord): void {
    this.digests.delete(s.token_digest);
    const m = this.byJob.get(s.job_id);
    m?.delete(s.id);
    if (m && m.size === 0) this.byJob.delete(s.job_id);
  }
}
