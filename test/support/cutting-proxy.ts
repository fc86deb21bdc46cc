/**
 * A tiny TCP proxy for e2e tests of client resilience: forwards every connection to `target`, and can cut the
 * server→client direction of a connection after a chosen number of bytes (mid-frame, mid-header — wherever it
 * falls), the way a flaky network or a load balancer does.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface CuttingProxy {
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Destroys every open connection now. */
  cutAll(): void;
  close(): Promise<void>;
}

/**
 * @param cutAfter for connection n (1-based), how many response bytes to pass before destroying both sockets;
 *   undefined = never cut.
 */
export async function startCuttingProxy(
  target: string,
  cutAfter: (n: number) => number | undefined,
): Promise<CuttingProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    const n = ++connections;
    const upstream = createConnection({ host: hostname, port: Number(port) });
    open.add(client).add(upstream);
    const limit = cutAfter(n);
    let passed = 0;
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      open.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      open.delete(upstream);
      client.end();
    });
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (limit === undefined) return void client.write(d);
      const room = limit - passed;
      if (d.length < room) {
        passed += d.length;
        client.write(d);
        return;
      }
      client.write(d.subarray(0, room), () => kill());
      passed = limit;
      upstream.pause();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return connections;
    },
    cutAll() {
      for (const s of open) s.destroy();
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
