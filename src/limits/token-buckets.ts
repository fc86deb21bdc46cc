/**
 * Token buckets in memory, one per key (tenant): `capacity` tokens, refilled continuously at `capacity` per
 * `periodMs`. In memory, so per process: N API processes allow N times the rate in total.
 */
export interface TakeResult {
  ok: boolean;
  /** When refused: whole seconds until a token is available (≥ 1). */
  retryAfterS: number;
  /** Tokens left after this call (floored). */
  remaining: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly capacity: number,
    periodMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (!(capacity > 0) || !(periodMs > 0)) throw new Error('TokenBuckets needs a positive capacity and period');
    this.perMs = capacity / periodMs;
  }

  take(key: string): TakeResult {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.capacity, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.capacity, b.tokens + Math.max(0, t - b.at) * this.perMs);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, retryAfterS: 0, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)), remaining: 0 };
  }

  /** Drops buckets that have refilled completely (they behave exactly like a missing one). */
  sweep(): void {
    const t = this.now();
    for (const [k, b] of this.buckets) {
      if (b.tokens + (t - b.at) * this.perMs >= this.capacity) this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
