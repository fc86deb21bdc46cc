/**
 * Runs the Durable Streams server conformance suite (`@durable-streams/server-conformance-tests`, its own CLI and
 * vitest) against a running app, through a proxy that adds the tenant's API key. Returns the suite's counts and
 * the names of failed tests, parsed from vitest's output.
 */
import { expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startBearerProxy } from './bearer-proxy.js';

export interface ConformanceResult {
  passed: number;
  failed: number;
  total: number;
  /** Opt-in parts the CLI does not enable (the reserved subscription APIs). */
  skipped: number;
  failures: string[];
  /** Test files' duration as vitest reports it. */
  seconds: number;
  output: string;
}

const require = createRequire(import.meta.url);

export async function runDsConformance(appUrl: string, key: string): Promise<ConformanceResult> {
  const proxy = await startBearerProxy(appUrl, key);
  const pkg = dirname(require.resolve('@durable-streams/server-conformance-tests/package.json'));
  const started = Date.now();
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(pkg, 'dist/cli.js'), '--run', `${proxy.url}/ds`], {
        // its CLI runs `vitest` from PATH
        env: { ...process.env, PATH: `${join(process.cwd(), 'node_modules/.bin')}:${process.env.PATH ?? ''}`, CI: '1' },
        cwd: join(process.cwd(), 'test/ds/conformance'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out));
    });
    // eslint-disable-next-line no-control-regex -- strips ANSI colour codes
    const clean = output.replace(/\x1b\[[0-9;]*m/g, '');
    const line = /Tests\s+(.*)\((\d+)\)/.exec(clean);
    const passed = Number(/(\d+) passed/.exec(line?.[1] ?? '')?.[1] ?? 0);
    const failed = Number(/(\d+) failed/.exec(line?.[1] ?? '')?.[1] ?? 0);
    const failures = [...clean.matchAll(/^\s*(?:×|✗|FAIL)\s+(.+?)(?:\s+\d+ms)?$/gm)].map((m) => m[1]!.trim());
    return {
      passed,
      failed,
      total: Number(line?.[2] ?? 0),
      skipped: Number(/(\d+) skipped/.exec(line?.[1] ?? '')?.[1] ?? 0),
      failures: [...new Set(failures)],
      seconds: (Date.now() - started) / 1000,
      output: clean,
    };
  } finally {
    await proxy.close();
  }
}

/** Runs the conformance suite against the app on `engine`, logs its tally (and any failures), and expects it all passed. */
export async function expectDsConformance(appUrl: string, key: string, engine: string): Promise<void> {
  const r = await runDsConformance(appUrl, key);
  console.log(
    `durable streams conformance (${engine}): ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped of ${r.total} in ${r.seconds.toFixed(1)} s` +
      (r.failures.length ? `\nfailed:\n  ${r.failures.join('\n  ')}` : ''),
  );
  if (process.env.DS_CONFORMANCE_OUT) (await import('node:fs')).writeFileSync(process.env.DS_CONFORMANCE_OUT, r.output);
  if (r.total === 0) console.log(r.output.slice(-4000));
  expect(r.total).toBeGreaterThan(300);
  expect(r.failures).toEqual([]);
  expect(r.failed).toBe(0);
}
