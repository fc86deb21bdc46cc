import { describe, expect, it } from '@jest/globals';
import type { LookupAddress } from 'node:dns';
import {
  UnsafeWebhookUrlError,
  checkResolvedHost,
  checkWebhookUrl,
  guardedLookup,
  isBlockedAddress,
} from './ssrf-guard.js';

describe('isBlockedAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '0.0.0.0',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::7f00:1',
    '::127.0.0.1',
    '64:ff9b:1::a00:1', // local-use NAT64 of 10.0.0.1
    '64:ff9b:1::808:808', // local-use NAT64: blocked whatever it embeds
    '64:ff9b:1:ffff::1',
    '192.88.99.1',
    '198.18.0.1',
    '2001::1', // Teredo
    '2001:2::1', // benchmarking
    '2002:a00:1::1', // 6to4 of 10.0.0.1
    '3fff::1',
    'fec0::1',
    '5f00::1',
    'not-an-ip',
  ])('blocks %s', (ip) => expect(isBlockedAddress(ip)).toBe(true));

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '192.169.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('allows %s', (ip) => expect(isBlockedAddress(ip)).toBe(false));
});

describe('checkWebhookUrl', () => {
  it('lets private targets through only when allowed', () => {
    expect(() => checkWebhookUrl('http://127.0.0.1:9/x', false)).toThrow(UnsafeWebhookUrlError);
    expect(checkWebhookUrl('http://127.0.0.1:9/x', true).port).toBe('9');
  });
  it('refuses other schemes and credentials even when private targets are allowed', () => {
    expect(() => checkWebhookUrl('file:///etc/passwd', true)).toThrow(/https/);
    expect(() => checkWebhookUrl('gopher://x/', true)).toThrow(/https/);
    expect(() => checkWebhookUrl('https://a:b@example.com/', true)).toThrow(/credentials/);
  });
});

describe('DNS answers (checked at every delivery)', () => {
  const fake = (addrs: string[]) => async (): Promise<LookupAddress[]> =>
    addrs.map((a) => ({ address: a, family: a.includes(':') ? 6 : 4 }));

  it('refuses a name whose answers include a non-public address', async () => {
    await expect(checkResolvedHost('rebind.example', fake(['93.184.215.14', '127.0.0.1']))).rejects.toThrow(
      /does not resolve to public addresses only/,
    );
    // the message never names the address (no DNS oracle for internal names)
    const err = await checkResolvedHost('db.internal.example', fake(['10.20.30.40'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeWebhookUrlError);
    expect((err as Error).message).not.toMatch(/10\.20\.30\.40|10\.|internal/);
    await expect(checkResolvedHost('meta.example', fake(['::ffff:169.254.169.254']))).rejects.toThrow(
      UnsafeWebhookUrlError,
    );
    await expect(checkResolvedHost('ok.example', fake(['93.184.215.14']))).resolves.toHaveLength(1);
  });

  it('the socket lookup hands over only checked addresses', async () => {
    const lookup = guardedLookup(fake(['10.0.0.7']));
    const err = await new Promise((resolve) => (lookup as any)('internal.example', {}, (e: unknown) => resolve(e)));
    expect(err).toBeInstanceOf(UnsafeWebhookUrlError);
    const ok = guardedLookup(fake(['93.184.215.14']));
    const got = await new Promise((resolve) =>
      (ok as any)('public.example', {}, (_e: unknown, addr: string, fam: number) => resolve([addr, fam])),
    );
    expect(got).toEqual(['93.184.215.14', 4]);
  });
});
