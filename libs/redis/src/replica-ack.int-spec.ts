/**
 * ReplicaAck against a real primary and replica: a write counts once the replica has it; with the replica stopped
 * the write fails with ReplicaAckError within the timeout (it is on the primary, not acknowledged), and writes
 * beyond the pool fail at once without being sent; with the replica back, writes are acknowledged again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { ReplicaAck, ReplicaAckBusyError, ReplicaAckError } from './replica-ack.js';
import { script } from './scripts.js';

const SET = script(`redis.call('SET', KEYS[1], ARGV[1]) return 'ok'`);
let primary: RunningServer;
let replica: RunningServer;
let client: Redis;
let replicaClient: Redis;

/** The replica streams writes again (after a full sync the primary starts streaming on the replica's first ack). */
const inSync = async () => {
  await client.set('ra:probe', String(Date.now()));
  return (await client.wait(1, 200)) === 1;
};

beforeAll(async () => {
  primary = await startRedis();
  replica = await startRedis({ replicaOf: primary.port });
  client = new Redis(primary.url);
  replicaClient = new Redis(replica.url, { retryStrategy: () => 50 });
  replicaClient.on('error', () => {});
  await waitFor(inSync, { timeoutMs: 10_000, message: 'the replica to sync' });
});
afterAll(async () => {
  client?.disconnect();
  replicaClient?.disconnect();
  await Promise.all([primary?.destroy(), replica?.destroy()]);
});

describe('ReplicaAck', () => {
  it('acknowledges a write once the replica has it', async () => {
    const ack = new ReplicaAck(client, { replicas: 1, timeoutMs: 2_000 });
    try {
      await expect(ack.eval(SET, ['ra:k1'], ['v1'])).resolves.toBe('ok');
      // acknowledged = on the replica already, no waiting needed
      expect(await replicaClient.get('ra:k1')).toBe('v1');
      // a script the server has not cached (EVALSHA → NOSCRIPT → EVAL) goes the same way
      await client.script('FLUSH');
      await expect(ack.eval(SET, ['ra:k2'], ['v2'])).resolves.toBe('ok');
      expect(await replicaClient.get('ra:k2')).toBe('v2');
      // the script's own error passes through as it is
      const bad = script(`return redis.error_reply('ERR mine')`);
      await expect(ack.eval(bad, [], [])).rejects.toThrow('ERR mine');
    } finally {
      await ack.close();
    }
  });

  it('queues writes beyond the pool until a connection is free', async () => {
    const ack = new ReplicaAck(client, { replicas: 1, timeoutMs: 2_000, connections: 1 });
    try {
      const keys = Array.from({ length: 10 }, (_, i) => `ra:q${i}`);
      expect(await Promise.all(keys.map((k) => ack.eval(SET, [k], [k])))).toEqual(keys.map(() => 'ok'));
      expect(await replicaClient.mget(...keys)).toEqual(keys);
    } finally {
      await ack.close();
    }
  });

  it('without the replica: fails within the timeout (the write is on the primary), refuses writes that cannot get a connection', async () => {
    const ack = new ReplicaAck(client, { replicas: 1, timeoutMs: 300, connections: 2, queueMs: 50 });
    try {
      await replica.stop();
      await waitFor(async () => (await client.info('replication')).includes('connected_slaves:0'), {
        timeoutMs: 10_000,
        message: 'the primary to see its replica gone',
      });
      const started = Date.now();
      const writes = [1, 2, 3].map((i) =>
        ack.eval(SET, [`ra:down${i}`], [`d${i}`]).then(
          () => null,
          (e: unknown) => e,
        ),
      );
      const [e1, e2, e3] = await Promise.all(writes);
      expect(e1).toBeInstanceOf(ReplicaAckError);
      expect(e2).toBeInstanceOf(ReplicaAckError);
      expect((e1 as ReplicaAckError).acked).toBe(0);
      // the third found both connections waiting for longer than it may queue: refused, nothing written
      expect(e3).toBeInstanceOf(ReplicaAckBusyError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(await client.mget('ra:down1', 'ra:down2', 'ra:down3')).toEqual(['d1', 'd2', null]);

      await replica.restart();
      await waitFor(inSync, { timeoutMs: 10_000, message: 'the replica to sync again' });
      // (a resyncing replica may still miss a write's WAIT for a moment: the condition is that writes succeed again)
      await waitFor(
        () =>
          ack.eval(SET, ['ra:back'], ['b']).then(
            () => true,
            () => false,
          ),
        {
          timeoutMs: 10_000,
          message: 'an acknowledged write once the replica is back',
        },
      );
      expect(await replicaClient.get('ra:back')).toBe('b');
    } finally {
      await ack.close();
    }
  });
});
