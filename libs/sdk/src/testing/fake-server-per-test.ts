/** A fake jobstream server for each test of the calling spec file, stopped after the test. */
import { afterEach } from '@jest/globals';
import { FakeJobstreamServer, type FakeServerOptions } from './fake-server.js';

/** Returns `start(opts)`: a started fake server; the last one started is stopped after each test. */
export function fakeServerPerTest(): (opts?: FakeServerOptions) => Promise<FakeJobstreamServer> {
  let server: FakeJobstreamServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  return async (opts = {}) => {
    server = await new FakeJobstreamServer(opts).start();
    return server;
  };
}
