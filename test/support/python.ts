/** Runs Debian's python3 on the Python package (clients/python) without blocking the event loop. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
/** The Python package's folder (its sources under src/). */
export const PKG = fileURLToPath(new URL('../../clients/python', import.meta.url));

export interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `python3 <args>` in the package with its src/ on PYTHONPATH, plus `env`; killed after `timeoutMs`. */
export function runPython(args: string[], env: Record<string, string>, timeoutMs: number): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, {
      cwd: PKG,
      env: { PATH: process.env.PATH ?? '', PYTHONPATH: join(PKG, 'src'), PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
