import { describe, expect, it } from '@jest/globals';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { TenantRoundRobin } from './fair-picker.js';
import { dispatchConsumerName, FairPull } from './jetstream-fair-pull.js';

/**
 * A pull published while a consumer's leader is being elected is never answered. This connection stands in for that
 * one broker behaviour (it takes pulls and never answers; the real failover is in test/cluster/nats-cluster.int-spec.ts)
 * to pin that FairPull gives up on such a pull instead of waiting forever.
 */
function unansweringConnection() {
  const pulls: string[] = [];
  const subs = new Set<string>();
  const nc = {
    subscribe: (subject: string) => {
      subs.add(subject);
      return { unsubscribe: () => subs.delete(subject) };
    },
    publish: (subject: string) => {
      pulls.push(subject);
    },
  } as unknown as NatsConnection;
  return { nc, pulls, subs };
}

describe('FairPull', () => {
  it('gives up on a pull the server never answers (a consumer leader being elected), so its loop can retry', async () => {
    const { nc, pulls, subs } = unansweringConnection();
    const warnings: string[] = [];
    const js = {} as JetStreamClient;
    const jsm = {
      streams: { info: async () => ({ state: { subjects: { 'd.echo.t1': 1 } } }) },
      consumers: { add: async () => ({}) },
    } as unknown as JetStreamManager;
    const pull = new FairPull(nc, js, jsm, {
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
    expect(pulls).toEqual([
      `$JS.API.CONSUMER.MSG.NEXT.S.${dispatchConsumerName('d.echo.t1')}`,
      `$JS.API.CONSUMER.MSG.NEXT.S.${dispatchConsumerName('d.echo.t1')}`,
    ]);
    expect(subs.size).toBe(0); // each pull's inbox is unsubscribed when it gives up
    expect(warnings.join('\n')).toMatch(/re-created after: no answer to a pull/);
  });
});
