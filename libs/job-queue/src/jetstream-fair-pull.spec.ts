import { describe, expect, it } from '@jest/globals';
import type { JetStreamClient, JetStreamManager } from 'nats';
import { TenantRoundRobin } from './fair-picker.js';
import { FairPull } from './jetstream-fair-pull.js';

/**
 * A pull published while a consumer's leader is being elected is never answered, and nats.js sets no timer for a
 * `no_wait` fetch. This stands in for that one broker behaviour (the real failover is in
 * test/cluster/nats-cluster.int-spec.ts) to pin that FairPull gives up on such a pull instead of waiting forever.
 */
class UnansweredFetch {
  stopped: Error | null = null;
  private wake: () => void = () => {};
  stop(err?: Error): void {
    this.stopped = err ?? new Error('stopped');
    this.wake();
  }
  [Symbol.asyncIterator](): AsyncIterator<never> {
    return {
      next: async () => {
        await new Promise<void>((resolve) => (this.wake = resolve));
        throw this.stopped ?? new Error('stopped');
      },
    };
  }
}

describe('FairPull', () => {
  it('gives up on a pull the server never answers (a consumer leader being elected), so its loop can retry', async () => {
    const fetches: UnansweredFetch[] = [];
    const warnings: string[] = [];
    const js = {
      fetch: () => {
        const f = new UnansweredFetch();
        fetches.push(f);
        return f;
      },
    } as unknown as JetStreamClient;
    const jsm = {
      streams: { info: async () => ({ state: { subjects: { 'd.echo.t1': 1 } } }) },
      consumers: { add: async () => ({}) },
    } as unknown as JetStreamManager;
    const pull = new FairPull(js, jsm, {
      stream: 'S',
      base: 'd',
      legacyConsumer: 'legacy',
      ackWaitMs: 30_000,
      maxAckPending: 10,
      answerTimeoutMs: 20,
      warn: (m) => warnings.push(m),
    });

    await expect(pull.pull(new Set(['echo']), 1, new TenantRoundRobin(), () => {})).rejects.toThrow(
      /no answer to a pull/,
    );
    // the first unanswered pull is retried once with the consumer re-created, then the error reaches the caller
    expect(fetches).toHaveLength(2);
    expect(fetches.every((f) => f.stopped !== null)).toBe(true);
    expect(warnings.join('\n')).toMatch(/re-created after: no answer to a pull/);
  });
});
