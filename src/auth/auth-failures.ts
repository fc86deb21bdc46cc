/**
 * Throttles guessing of API keys: requests with an invalid key are counted per client address in a fixed window;
 * after AUTH_FAIL_LIMIT of them in AUTH_FAIL_WINDOW_S, every keyed request from that address gets 429 +
 * Retry-After until the window ends (a correct guess then would not get through either). Memory is bounded: at most
 * {@link MAX_ADDRESSES} addresses are tracked, the oldest window is forgotten first. Per API process, like the other
 * limits.
 */
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/config.js';

/** Addresses tracked at most (about 100 bytes each). */
export const MAX_ADDRESSES = 10_000;

interface Window {
  start: number;
  failures: number;
}

export class FailureWindows {
  /** address → its current window, oldest window first (Map order: re-inserted when a new window starts). */
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxAddresses = MAX_ADDRESSES,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  /** Seconds the address must wait before its next keyed request, 0 when it may go on. */
  retryAfterS(address: string): number {
    if (this.limit <= 0) return 0;
    const w = this.windows.get(address);
    if (!w) return 0;
    const left = w.start + this.windowMs - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return 0;
    }
    return w.failures >= this.limit ? Math.ceil(left / 1000) : 0;
  }

  /** Counts a request with an invalid key. */
  fail(address: string): void {
    if (this.limit <= 0) return;
    const now = this.now();
    const w = this.windows.get(address);
    if (w && now - w.start < this.windowMs) {
      w.failures++;
      return;
    }
    this.windows.delete(address);
    this.windows.set(address, { start: now, failures: 1 });
    while (this.windows.size > this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
  }
}

@Injectable()
export class AuthFailures extends FailureWindows {
  constructor(config: AppConfig) {
    super(config.authFailures.limit, config.authFailures.windowS * 1000);
  }
}
