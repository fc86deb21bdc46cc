/**
 * Real agent-worker processes for integration tests: `node dist/src/worker/main.js` (built by the integration
 * project's globalSetup), with its own env, its output kept, killed when the test process exits.
 */
import { fileURLToPath } from 'node:url';
import { connect, Empty } from '@nats-io/transport-node';
import { WORKER_SUBJECTS } from '@jobstream/contracts';
import { waitFor } from './wait.js';
import { spawnNode } from './node-process.js';

const MAIN = fileURLToPath(new URL('../../dist/src/worker/main.js', import.meta.url));

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerProcess {
  readonly pid: number;
  /** As the worker reports it in pings: `<hostname>:<pid>`. */
  readonly id: string;
  output(): string;
  readonly exited: Promise<WorkerExit>;
  kill(signal: NodeJS.Signals): void;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<WorkerExit>;
}

export async function spawnWorker(env: Record<string, string>, timeoutMs = 30_000): Promise<WorkerProcess> {
  const proc = spawnNode(MAIN, { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env });
  const { child, exited } = proc;
  const out = proc.output;
  const id = await waitFor(
    () => {
      const m = /jobstream worker (\S+) serving agents/.exec(out());
      if (m) return m[1]!;
      if (proc.gone()) throw new Error(`worker exited before it was ready:\n${out()}`);
      return null;
    },
    { timeoutMs, message: () => `the worker to be ready:\n${out()}` },
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    pid: child.pid!,
    id,
    output: out,
    exited,
    kill: (signal) => {
      child.kill(signal);
    },
    stop: async (signal = 'SIGTERM') => {
      if (!proc.gone()) child.kill(signal);
      return exited;
    },
  };
}

export interface PingReply {
  ok: boolean;
  worker_id: string;
  running_jobs: string[];
  agents: string[];
  concurrency: number;
}

/** Every worker's answer to `jobstream.worker.ping` (collected for `waitMs`). */
export async function pingWorkers(natsUrl: string, waitMs = 300): Promise<PingReply[]> {
  const nc = await connect({ servers: natsUrl });
  const replies: PingReply[] = [];
  try {
    for await (const m of await nc.requestMany(WORKER_SUBJECTS.ping, Empty, { strategy: 'timer', maxWait: waitMs }))
      replies.push(m.json<PingReply>());
  } catch {
    /* no responders */
  } finally {
    await nc.close();
  }
  return replies;
}
