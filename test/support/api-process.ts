/**
 * A real API process for integration tests: `node dist/src/main.js` (built by the integration project's
 * globalSetup) on a free port, killed when the test process exits.
 */
import { fileURLToPath } from 'node:url';
import { freePort } from '../harness/servers.js';
import { waitFor } from './wait.js';
import { spawnNode } from './node-process.js';

const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

export interface ApiProcess {
  readonly url: string;
  readonly pid: number;
  output(): string;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnApi(env: Record<string, string>, timeoutMs = 30_000): Promise<ApiProcess> {
  const port = await freePort();
  const proc = spawnNode(MAIN, {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    ...env,
  });
  const { child, output: out } = proc;
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.gone()) throw new Error(`API exited before it was ready:\n${out()}`);
      return fetch(`${url}/health/live`).then(
        (res) => res.ok,
        () => false, // not listening yet
      );
    },
    { timeoutMs, intervalMs: 50, message: () => `the API to be ready:\n${out()}` },
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    url,
    pid: child.pid!,
    output: out,
    stop: async (signal = 'SIGTERM') => {
      if (!proc.gone()) child.kill(signal);
      await proc.exited;
    },
  };
}
