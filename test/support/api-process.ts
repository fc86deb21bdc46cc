/**
 * A real API process for integration tests: `node dist/src/main.js` (built by the integration project's
 * globalSetup) on a free port, killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../harness/servers.js';
import { waitFor } from './wait.js';

const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const children = new Set<ChildProcess>();
let hooked = false;

export interface ApiProcess {
  readonly url: string;
  readonly pid: number;
  output(): string;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnApi(env: Record<string, string>, timeoutMs = 30_000): Promise<ApiProcess> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-64_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      children.delete(child);
      r();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`API exited before it was ready:\n${out}`);
      return fetch(`${url}/health/live`).then(
        (res) => res.ok,
        () => false, // not listening yet
      );
    },
    { timeoutMs, intervalMs: 50, message: () => `the API to be ready:\n${out}` },
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    url,
    pid: child.pid!,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
