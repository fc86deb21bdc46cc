/**
 * Boots the real API on the production engine (JetStream + Redis) against private servers that the harness starts
 * on free ports. `close()` stops the app and destroys the servers.
 */
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from './app.js';

export interface NatsTestApp extends TestApp {
  nats: RunningNats;
  redis: RunningServer;
}

export async function startNatsTestApp(env: Record<string, string> = {}): Promise<NatsTestApp> {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  try {
    const app = await startTestApp({ NATS_URL: nats.url, REDIS_URL: redis.url, EMBEDDED_WORKER: 'true', ...env });
    return {
      ...app,
      nats,
      redis,
      close: async () => {
        await app.close();
        await Promise.all([nats.destroy(), redis.destroy()]);
      },
    };
  } catch (err) {
    await Promise.all([nats.destroy(), redis.destroy()]);
    throw err;
  }
}
