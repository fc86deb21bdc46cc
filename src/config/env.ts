/**
 * The building blocks of configuration: validators that name the variable in their message, and the error that
 * stops a process. Each process validates only what it reads: `common.config.ts` (every process), `worker.config.ts`
 * (agent workers: the worker app, and the API when it runs one in-process), `config.ts` (the API app).
 * Nothing else reads `process.env`.
 */
import { z } from 'zod';

export type RawEnv = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const int = (name: string, min: number, max: number, def: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

export const bool = (name: string, def: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      if (/^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      ctx.addIssue({ code: 'custom', message: `${name} must be true or false, got "${v}"` });
      return z.NEVER;
    });

export const url = (name: string, schemes: string[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const parts = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const p of parts) {
        const withScheme = /^[a-z]+:\/\//i.test(p) ? p : `${schemes[0]}://${p}`;
        let u: URL;
        try {
          u = new URL(withScheme);
        } catch {
          ctx.addIssue({ code: 'custom', message: `${name} has a malformed URL` });
          return z.NEVER;
        }
        if (!schemes.includes(u.protocol.replace(':', ''))) {
          ctx.addIssue({ code: 'custom', message: `${name} must use ${schemes.join(' or ')}://` });
          return z.NEVER;
        }
      }
      return parts.join(',');
    });

/** Validates `env` with `schema`; throws {@link ConfigError} naming every bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: RawEnv): z.output<S> {
  const res = schema.safeParse(env);
  if (!res.success) {
    const lines = res.error.issues.map((i) => `  - ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return res.data;
}

/** For process entry points: the validated config, or exit 1 with the message naming the bad variables. */
export function loadOrExit<T>(load: () => T, program: string): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exit(1);
  }
}
