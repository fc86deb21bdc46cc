import { describe, expect, it, jest } from '@jest/globals';
import type { NatsConnection, Status } from '@jobstream/nats';
import { borrowConnection } from './nats-transport.js';

/** A connection's surface as Nest's NATS server uses it, recording what reaches the real connection. */
function fakeConnection() {
  const unsubscribed: string[] = [];
  let pushStatus: (s: Status) => void = () => {};
  const statusReturned = jest.fn();
  const nc = {
    subscribe: (subject: string) => ({ unsubscribe: () => unsubscribed.push(subject) }),
    status: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () =>
          new Promise<IteratorResult<Status>>((resolve) => (pushStatus = (value) => resolve({ done: false, value }))),
        return: async () => {
          statusReturned();
          return { done: true, value: undefined };
        },
      }),
    }),
    close: jest.fn(async () => {}),
    drain: jest.fn(async () => {}),
    getServer: () => 'nats://127.0.0.1:4222',
  } as unknown as NatsConnection;
  return { nc, unsubscribed, push: (s: Status) => pushStatus(s), statusReturned };
}

describe('borrowConnection', () => {
  it("closes only the borrower's own subscriptions and status listeners, never the connection", async () => {
    const f = fakeConnection();
    f.nc.subscribe('engine.own'); // the engine's subscription, on the same connection
    const lent = borrowConnection(f.nc);
    lent.subscribe('jobstream.api.jobs.create');
    lent.subscribe('jobstream.api.jobs.get');
    expect(lent.getServer()).toBe('nats://127.0.0.1:4222'); // everything else is the connection's own

    const seen: string[] = [];
    const watching = (async () => {
      for await (const s of lent.status()) seen.push(s.type);
    })();
    await Promise.resolve();
    f.push({ type: 'reconnect', server: 'x' } as Status);
    await new Promise((r) => setImmediate(r));

    await lent.close();
    await watching; // the status loop ends with the borrower
    expect(seen).toEqual(['reconnect']);
    expect(f.unsubscribed).toEqual(['jobstream.api.jobs.create', 'jobstream.api.jobs.get']);
    expect(f.statusReturned).toHaveBeenCalled();
    expect(f.nc.close).not.toHaveBeenCalled();
    expect(f.nc.drain).not.toHaveBeenCalled();
  });
});
