/**
 * SSRF guard for webhook URLs: only http(s) URLs whose host is a public address. Refused: every IANA special-purpose
 * range that is not globally reachable — loopback, private (RFC 1918), carrier-grade NAT, link-local (incl. cloud
 * metadata 169.254.169.254), unique-local and site-local IPv6, multicast, documentation, benchmarking, reserved and
 * unspecified addresses (0.0.0.0, ::), local-use NAT64 (64:ff9b:1::/48), 6to4, Teredo and the other IETF protocol
 * assignments — and IPv4-mapped / IPv4-compatible / NAT64 (64:ff9b::/96) forms of any blocked IPv4 address;
 * `localhost` and `*.localhost` names. The errors never name the address a host resolved to (that would make the
 * guard a DNS oracle for internal names). Checked at creation (literal hosts, and the names' DNS answers) and again at every
 * delivery, on the addresses the connection actually uses (a custom `lookup`, so a name that changes its answer
 * between the check and the connect cannot slip through). `WEBHOOK_ALLOW_PRIVATE=true` turns the guard off.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export class UnsafeWebhookUrlError extends Error {
  override readonly name = 'UnsafeWebhookUrlError';
}

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network", incl. 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. 255.255.255.255
] as const) {
  blocked.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fe80::', 10], // link-local
  ['fc00::', 7], // unique local
  ['ff00::', 8], // multicast
  ['fec0::', 10], // site-local (deprecated)
  ['2001::', 23], // IETF protocol assignments: Teredo, benchmarking, ORCHID …
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address a relay would reach
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): translates to any IPv4 address, private ones included
  ['100::', 64], // discard-only
  ['100:0:0:1::', 64], // dummy prefix
  ['5f00::', 16], // SRv6 SIDs
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

/** The IPv4 address embedded in an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedIpv4(ip: string): string | null {
  const groups = expandIpv6(ip);
  if (!groups) return null;
  const high = groups.slice(0, 6);
  const mapped = high.slice(0, 5).every((g) => g === 0) && (high[5] === 0xffff || high[5] === 0);
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (!mapped && !nat64) return null;
  const [a, b] = [groups[6]!, groups[7]!];
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}

/** Eight 16-bit groups of an IPv6 address (with an optional dotted IPv4 tail), or null. */
function expandIpv6(ip: string): number[] | null {
  let s = ip
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  if (fill < 0) return null;
  const all = [...h, ...Array<string>(fill).fill('0'), ...t];
  if (all.length !== 8) return null;
  const out = all.map((g) => parseInt(g, 16));
  return out.some((n) => Number.isNaN(n) || n < 0 || n > 0xffff) ? null : out;
}

/** True when a connection to this IP address must be refused. Anything that is not an IP address is refused. */
export function isBlockedAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '');
  const family = isIP(bare.replace(/%.*$/, ''));
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    if (v4 !== null) return blocked.check(v4, 'ipv4');
    return blocked.check(bare.replace(/%.*$/, ''), 'ipv6');
  }
  return true;
}

const isLocalName = (host: string) => /(^|\.)localhost\.?$/i.test(host);

/**
 * Parses and checks a webhook URL's form and (unless `allowPrivate`) its host when it is an IP literal or a
 * localhost name. Returns the parsed URL. Throws {@link UnsafeWebhookUrlError} with a message for the client.
 */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UnsafeWebhookUrlError('url must be an absolute http:// or https:// URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new UnsafeWebhookUrlError('url must use https:// or http://');
  if (u.username || u.password) throw new UnsafeWebhookUrlError('url must not contain credentials');
  if (!u.hostname) throw new UnsafeWebhookUrlError('url must have a host');
  if (allowPrivate) return u;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isLocalName(host))
    throw new UnsafeWebhookUrlError('url must not point at localhost (set WEBHOOK_ALLOW_PRIVATE=true to allow it)');
  if (isIP(host) && isBlockedAddress(host)) {
    throw new UnsafeWebhookUrlError(
      'url must not point at a loopback, private, link-local or reserved address (set WEBHOOK_ALLOW_PRIVATE=true to allow it)',
    );
  }
  return u;
}

type Resolve = (host: string) => Promise<LookupAddress[]>;
const resolveAll: Resolve = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))),
  );

/** Resolves a name and refuses it when ANY of its addresses is blocked (no mixing a public and a private answer). */
export async function checkResolvedHost(host: string, resolve: Resolve = resolveAll): Promise<LookupAddress[]> {
  const addrs = await resolve(host);
  const bad = addrs.find((a) => isBlockedAddress(a.address));
  if (bad) throw new UnsafeWebhookUrlError('host does not resolve to public addresses only');
  return addrs;
}

/**
 * A `lookup` for http(s).request that refuses non-public answers, so the check applies to the very addresses the
 * socket connects to (no DNS-rebinding window).
 */
export function guardedLookup(resolve: Resolve = resolveAll): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    checkResolvedHost(hostname, resolve).then(
      (addrs) => {
        if (options?.all) callback(null, addrs);
        else callback(null, addrs[0]!.address, addrs[0]!.family);
      },
      (err) => callback(err),
    );
  }) as unknown as LookupFunction;
}
