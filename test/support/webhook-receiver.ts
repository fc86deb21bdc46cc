/**
 * A real HTTP receiver on loopback for webhook tests: records every request (headers and raw body) and answers
 * per a script of behaviours (a status code, `hang` = never answer, `redirect`), then 200 once the script is used up.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour = number | 'hang' | 'redirect';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Behaviours for the next requests, in order. */
  script(...b: Behaviour[]): void;
  /** Resolves when `n` requests have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hook'): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const plan: Behaviour[] = [];
  const waiters = new Set<() => void>();
  const hung = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      for (const w of waiters) w();
      const b = plan.shift() ?? 200;
      if (b === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      if (b === 'redirect') {
        res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
        return;
      }
      res.writeHead(b, { 'content-type': 'text/plain' }).end(String(b));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    script: (...b) => plan.push(...b),
    waitFor: (n, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= n) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(received.slice());
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver got ${received.length} of ${n} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
