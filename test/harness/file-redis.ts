/**
 * One private redis-server for the calling test file: started in its beforeAll, killed in its afterAll together with
 * the raw clients made through it.
 */
import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { startRedis, type RunningServer, type StopSignal } from './servers.js';

export interface FileRedis extends RunningServer {
  /** A raw client on it, disconnected after the file's tests. */
  client(): Redis;
}

export function redisForFile(): FileRedis {
  let server: RunningServer | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.destroy();
  });
  const running = (): RunningServer => {
    if (!server) throw new Error('redis-server is not started yet (use it inside tests and hooks)');
    return server;
  };
  return {
    get url() {
      return running().url;
    },
    get port() {
      return running().port;
    },
    stop: (signal?: StopSignal) => running().stop(signal),
    restart: (signal?: StopSignal) => running().restart(signal),
    destroy: () => running().destroy(),
    client: () => {
      const c = new Redis(running().url);
      clients.push(c);
      return c;
    },
  };
}
