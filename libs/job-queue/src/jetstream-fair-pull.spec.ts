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

/** A connection whose pulls are answered with one message each (the job id) or a `404 No Messages`. */
function answeringConnection(jobs: Map<string, string[]>) {
  const pulls: string[] = [];
  const callbacks = new Map<string, (err: Error | null, m: unknown) => void>();
  const nc = {
    subscribe: (inbox: string, opts: { callback: (err: Error | null, m: unknown) => void }) => {
      callbacks.set(inbox, opts.callback);
      return { unsubscribe: () => callbacks.delete(inbox) };
    },
    publish: (subject: string, data: string, opts?: { reply?: string }) => {
      if (!opts?.reply) return;
      pulls.push(subject);
      const cb = callbacks.get(opts.reply)!;
      const { batch } = JSON.parse(data) as { batch: number };
      const id = [...jobs.entries()].find(([s]) => subject.endsWith(dispatchConsumerName(s)))?.[1].shift();
      if (id) cb(null, { subject: 's', data: new TextEncoder().encode(id), reply: '$JS.ACK.S.c.1.7.7.0.0' });
      if (!id || batch > 1) callbacks.get(opts.reply)?.(null, { subject: 's', headers: { code: 404 } });
    },
  } as unknown as NatsConnection;
  return { nc, pulls };
}

describe('FairPull', () => {
  it('takes a job just published on its subject without asking the stream, when the last pass found nothing', async () => {
    const jobs = new Map([['d.echo.t1', ['job-1']]]);
    const { nc, pulls } = answeringConnection(jobs);
    let infos = 0;
    const jsm = {
      streams: {
        info: async () => {
          infos++;
          return { state: { subjects: Object.fromEntries([...jobs].map(([s, ids]) => [s, ids.length])) } };
        },
      },
      consumers: { add: async () => ({}) },
    } as unknown as JetStreamManager;
    const pull = new FairPull(nc, {} as JetStreamClient, jsm, {
      stream: 'S',
      base: 'd',
      legacyConsumer: 'legacy',
      ackWaitMs: 30_000,
      maxAckPending: 10,
      warn: () => {},
    });
    const taken: string[] = [];
    const take = (m: { data: Uint8Array }, t: { tenant: string }) =>
      taken.push(`${t.tenant}:${new TextDecoder().decode(m.data)}`);
    const agents = new Set(['echo']);
    const rr = new TenantRoundRobin();

    const pass = { caughtUp: false };
    pull.published('d.echo.t1');
    expect(await pull.pull(agents, 4, rr, take, true, pass)).toBe(1);
    expect(taken).toEqual(['t1:job-1']);
    expect(infos).toBe(0);
    expect(pulls).toEqual([`$JS.API.CONSUMER.MSG.NEXT.S.${dispatchConsumerName('d.echo.t1')}`]);
    expect(pass.caughtUp).toBe(true); // everything published was taken: the loop may sleep

    // two publishes on one subject: two jobs; more than the free slots: not caught up
    jobs.set('d.echo.t3', ['job-3a', 'job-3b', 'job-3c']);
    for (let i = 0; i < 3; i++) pull.published('d.echo.t3');
    expect(await pull.pull(agents, 2, rr, take, true, pass)).toBe(2);
    expect(taken.slice(1)).toEqual(['t3:job-3a', 't3:job-3b']);
    expect(pass.caughtUp).toBe(false);
    expect(infos).toBe(0);
    jobs.delete('d.echo.t3');

    // not a fresh pass (the loop took something last time): the stream is asked, as before
    jobs.set('d.echo.t2', ['job-2']);
    pull.published('d.echo.t2');
    expect(await pull.pull(agents, 4, rr, take, false)).toBe(1);
    expect(taken).toEqual(['t1:job-1', 't3:job-3a', 't3:job-3b', 't2:job-2']);
    expect(infos).toBe(1);

    // a fresh pass whose published subject has nothing left for it falls back to the full pass
    pull.published('d.echo.t1');
    expect(await pull.pull(agents, 4, rr, take, true, pass)).toBe(0);
    expect(infos).toBe(2);
    expect(pass.caughtUp).toBe(false);
  });

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
