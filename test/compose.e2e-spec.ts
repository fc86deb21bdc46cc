/**
 * docker-compose.yml, read as YAML (no Docker engine needed): it ships no default secret (each is `${VAR:?…}`, so
 * `docker compose` refuses to start without it) and publishes no NATS port (the server runs without auth).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';

interface Service {
  environment?: Record<string, string>;
  ports?: string[];
}
const compose = load(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, Service>;
};
// YAML merge keys (`<<: *app-env`), which js-yaml leaves as they are
for (const s of Object.values(compose.services)) {
  const env = s.environment as (Record<string, string> & { '<<'?: Record<string, string> }) | undefined;
  if (env?.['<<']) {
    const { '<<': base, ...own } = env;
    s.environment = { ...base, ...own };
  }
}
const services = Object.entries(compose.services);
const SECRETS = ['API_KEYS', 'STREAM_TOKEN_SECRET'];

describe('docker-compose.yml', () => {
  it('requires every secret from the environment: ${VAR:?message}, never a default', () => {
    const apps = services.filter(([, s]) => s.environment?.['API_KEYS'] !== undefined);
    expect(apps.map(([name]) => name).sort()).toEqual(['api-1', 'api-2', 'worker']);
    for (const [name, s] of apps) {
      for (const v of SECRETS) {
        expect([name, v, s.environment![v]]).toEqual([
          name,
          v,
          expect.stringMatching(new RegExp(`^\\$\\{${v}:\\?.+\\}$`)),
        ]);
      }
      // any other secret-like variable has no default value either
      for (const [k, value] of Object.entries(s.environment!)) {
        if (/KEY|SECRET|TOKEN|PASSWORD/.test(k))
          expect([k, String(value)]).not.toEqual([k, expect.stringMatching(/:-[^}]/)]);
      }
    }
  });

  it('publishes no NATS port (4222 clients, 8222 monitoring, 6222 routes)', () => {
    expect(compose.services['nats']).toBeDefined();
    expect(compose.services['nats']!.ports ?? []).toEqual([]);
    for (const [name, s] of services) {
      for (const p of s.ports ?? [])
        expect([name, String(p)]).not.toEqual([name, expect.stringMatching(/(^|:)(4222|8222|6222)(:|$)/)]);
    }
  });
});
