/**
 * Real agent-worker processes for integration tests: `node dist/src/worker/main.js` (built by the integration
 * project's globalSetup), with its own env, its output kept, killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, Empty } from '@nats-io/transport-node';
import { WORKER_SUBJECTS } from '@jobstream/contracts';
import { waitFor } from './wait.js';

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

const children = new Set<ChildProcess>();
let hooked = false;

export async function spawnWorker(env: Record<string, string>, timeoutMs = 30_000): Promise<WorkerProcess> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-64_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<WorkerExit>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const id = await waitFor(
    () => {
      const m = /jobstream worker (\S+) serving agents/.exec(out);
      if (m) return m[1]!;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`worker exited before it was ready:\n${out}`);
      return null;
    },
    { timeoutMs, message: () => `the worker to be ready:\n${out}` },
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    pid: child.pid!,
    id,
    output: () => out,
    exited,
    kill: (signal) => {
      child.kill(signal);
    },
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
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
