/**
 * A `node <script>` child for integration tests, shared by the API and worker spawners: its output kept (the last
 * 64 kB), killed with SIGKILL when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
let hooked = false;

export interface NodeChild {
  readonly child: ChildProcess;
  /** stdout and stderr as far as they came. */
  output(): string;
  /** Settles when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited or been killed. */
  gone(): boolean;
}

export function spawnNode(script: string, env: Record<string, string>): NodeChild {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-64_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, output: () => out, exited, gone: () => child.exitCode !== null || child.signalCode !== null };
}
