import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { freePort, startNats, startRedis, type RunningNats, type RunningServer } from './servers.js';

describe('test harness', () => {
  const started: (RunningNats | RunningServer)[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.destroy()));
  });

  it('finds free ports', async () => {
    const [a, b] = [await freePort(), await freePort()];
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  });

  it('runs a JetStream nats-server that keeps its store across a crash and restart on the same port', async () => {
    const nats = await startNats();
    started.push(nats);
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(nats.port).not.toBe(4222);
    const health = await fetch(`${nats.monitorUrl}/healthz`);
    expect(health.ok).toBe(true);

    let nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.>'] });
    await jetstream(nc).publish('harness.a', 'kept');
    await nc.close();

    await nats.restart('SIGKILL');
    nc = await connect({ servers: nats.url });
    const info = await (await jetstreamManager(nc)).streams.info('HARNESS');
    expect(info.state.messages).toBe(1);
    await nc.close();

    await nats.destroy();
    expect(existsSync(nats.storeDir)).toBe(false);
  });

  it('runs a redis-server that comes back on the same port after a stop', async () => {
    const redis = await startRedis();
    started.push(redis);
    expect(redis.port).not.toBe(6379);
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    await redis.stop();
    await redis.restart();
    const again = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await again.connect();
    expect(await again.set('k', 'v')).toBe('OK');
    again.disconnect();
  });
});
