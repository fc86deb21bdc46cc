/**
 * A cancel answered 202 ends the job `cancelled` even when its one message to the worker is lost: the runner's
 * heartbeat reads the cancel recorded in the store. On JetStream + Redis, with the API's cancel publish dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNatsTestApp, type NatsTestApp } from '../support/nats-app.js';
import { waitFor } from '../support/wait.js';

describe('durable cancel (JetStream + Redis)', () => {
  let app: NatsTestApp;
  let dropped = 0;
  beforeAll(async () => {
    // heartbeats every second (a third of the stall timeout)
    app = await startNatsTestApp({ JOB_STALL_TIMEOUT_MS: '3000' });
    // the cancel message to the worker is lost: the publish goes nowhere
    app.engine.jobControl.requestCancel = async () => {
      dropped++;
    };
  });
  afterAll(async () => {
    await app?.close();
  });

  it('ends a running job cancelled though the message to its worker never arrived', async () => {
    const created = await app.api('/v1/jobs', {
      body: { agent: 'echo', input: { message: 'one two three four five', delay_ms: 60_000 } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await waitFor(async () => (await app.api(`/v1/jobs/${id}`)).body.status === 'running', { message: 'running' });
    const cancel = await app.api(`/v1/jobs/${id}/cancel`, { body: { reason: 'stop' } });
    expect(cancel.status).toBe(202);
    expect(dropped).toBe(1);
    const ended = await app.api(`/v1/jobs/${id}/wait?timeout_s=20`);
    expect(ended.body.status).toBe('cancelled');
    const events = (await app.api(`/v1/jobs/${id}/events?limit=100`)).body.events as { type: string }[];
    expect(events.at(-1)).toMatchObject({ type: 'cancelled', reason: 'stop' });
  });
});
