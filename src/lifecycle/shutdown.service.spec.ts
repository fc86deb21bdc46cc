import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../config/config.js';
import { waitFor } from '../../libs/contracts/src/testing/wait.js';
import { ShutdownService } from './shutdown.service.js';

/** The service over a real HTTP server (grace = 30 % of 400 ms = 120 ms), its warnings recorded. */
async function setup(handler: http.RequestListener) {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = { httpAdapter: { getHttpServer: () => server } } as unknown as HttpAdapterHost;
  const service = new ShutdownService({ shutdownTimeoutMs: 400 } as AppConfig, host);
  const warnings: string[] = [];
  jest.spyOn(Logger.prototype, 'warn').mockImplementation((m: unknown) => void warnings.push(String(m)));
  const closed = new Promise<void>((resolve) => server.once('close', resolve));
  return { server, service, warnings, closed, port: (server.address() as AddressInfo).port };
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('ShutdownService', () => {
  it('warns and closes the connection of a request still running after the grace period', async () => {
    let received = false;
    const { server, service, warnings, closed, port } = await setup(() => {
      received = true; // never answered
    });
    const req = http.get({ port, host: '127.0.0.1', agent: false });
    const failed = new Promise<string>((resolve) => req.once('error', (e: NodeJS.ErrnoException) => resolve(e.code!)));
    await waitFor(() => received, { message: 'the request to reach the server' });

    service.beforeApplicationShutdown();
    server.close();

    expect(await failed).toBe('ECONNRESET');
    await closed;
    expect(warnings).toEqual(['requests still running after 120 ms of shutdown; closing their connections']);
    service.onApplicationShutdown();
  });

  it('stops its timer when the server has closed: later shutdown steps (a worker drain) do not count', async () => {
    const { server, service, warnings, closed, port } = await setup((_req, res) => res.end('ok'));
    // a finished request on a kept-alive socket
    const agent = new http.Agent({ keepAlive: true });
    const body = await new Promise<string>((resolve, reject) =>
      http
        .get({ port, host: '127.0.0.1', agent }, (res) => {
          res.setEncoding('utf8');
          let s = '';
          res.on('data', (d: string) => (s += d)).on('end', () => resolve(s));
        })
        .once('error', reject),
    );
    expect(body).toBe('ok');

    service.beforeApplicationShutdown();
    server.close();
    await closed;
    // onApplicationShutdown (which also clears it) may come seconds later, after the worker's drain: the timer is
    // already gone, so it cannot fire meanwhile
    expect((service as unknown as { forceTimer: unknown }).forceTimer).toBeNull();
    expect(warnings).toEqual([]);
    agent.destroy();
  });
});
