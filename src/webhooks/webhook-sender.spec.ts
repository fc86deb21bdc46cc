import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendWebhook } from './webhook-sender.js';

describe('sendWebhook', () => {
  let server: Server;
  let port = 0;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.writeHead(req.url === '/moved' ? 307 : 204, { location: '/elsewhere' }).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('refuses a name that resolves to loopback at delivery time (the DNS answer is checked, nothing is sent)', async () => {
    hits = 0;
    const r = await sendWebhook(`http://localhost:${port}/hook`, {}, '{}', { timeoutMs: 2_000, allowPrivate: false });
    expect(r).toMatchObject({
      ok: false,
      status_code: null,
      error: expect.stringMatching(/^refused: host does not resolve to public addresses only$/),
    });
    expect(hits).toBe(0);
    const literal = await sendWebhook(`http://127.0.0.1:${port}/hook`, {}, '{}', {
      timeoutMs: 2_000,
      allowPrivate: false,
    });
    expect(literal).toMatchObject({ ok: false, error: expect.stringMatching(/^refused/) });
    expect(hits).toBe(0);
  });

  it('delivers when private targets are allowed, and treats a redirect as a failure (not followed)', async () => {
    hits = 0;
    expect(
      await sendWebhook(`http://localhost:${port}/hook`, {}, '{}', { timeoutMs: 2_000, allowPrivate: true }),
    ).toMatchObject({ ok: true, status_code: 204 });
    const moved = await sendWebhook(`http://127.0.0.1:${port}/moved`, {}, '{}', {
      timeoutMs: 2_000,
      allowPrivate: true,
    });
    expect(moved).toMatchObject({ ok: false, status_code: 307, error: 'redirect (307) not followed' });
    expect(hits).toBe(2);
  });

  it('reports a refused connection without throwing', async () => {
    const r = await sendWebhook('http://127.0.0.1:1/x', {}, '{}', { timeoutMs: 2_000, allowPrivate: true });
    expect(r).toMatchObject({
      ok: false,
      status_code: null,
      error: expect.stringMatching(/request failed: ECONNREFUSED/),
    });
  });
});
