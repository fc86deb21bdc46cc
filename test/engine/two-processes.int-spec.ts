/**
 * Engine claim: two API processes (two JetStreamEventLog instances, two connections) each hold their own
 * LiveHub; events appended through one reach the clients of both, identically.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newJobId } from '@jobstream/contracts';
import { JetStreamEventLog, LiveHub, type LoggedEvent } from '@jobstream/event-log';
import { startNats, type RunningNats } from '../harness/servers.js';
import { waitFor } from '../support/wait.js';

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.destroy();
});

describe('two API processes on one event log', () => {
  it('deliver identical sequences to the clients of both', async () => {
    const apiA = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const apiB = await JetStreamEventLog.create({ servers: nats.url, retentionMs: 3_600_000 });
    const frame = (e: LoggedEvent) => `${e.event.seq}-${e.pos}:${(e.event as { text?: string }).text ?? e.event.type}`;
    const hubA = new LiveHub(apiA, frame);
    const hubB = new LiveHub(apiB, frame);
    const job = newJobId();
    const clients = { a1: [] as string[], a2: [] as string[], b1: [] as string[] };
    const errors: unknown[] = [];
    const sink = (into: string[]) => ({
      next: (_e: LoggedEvent, f: string) => into.push(f),
      error: (err: unknown) => errors.push(err),
    });
    const leaves = [
      await hubA.subscribe(job, sink(clients.a1)),
      await hubA.subscribe(job, sink(clients.a2)),
      await hubB.subscribe(job, sink(clients.b1)),
    ];
    expect(hubA.stats()).toEqual({ jobs: 1, sinks: 2 });

    const n = 200;
    const appended: string[] = [];
    for (let i = 1; i <= n; i++)
      appended.push(frame(await apiA.append(job, { event: { type: 'token', text: `t${i}` }, attempt: 1 })));
    appended.push(
      frame(
        await apiA.append(job, {
          event: { type: 'done', usage: { input_tokens: 1, output_tokens: n }, output: { text: '' } },
          attempt: 1,
        }),
      ),
    );

    await waitFor(() => Object.values(clients).every((c) => c.length === appended.length), {
      message: 'every client to get every event',
    });
    expect(errors).toEqual([]);
    expect(clients.a1).toEqual(appended);
    expect(clients.a2).toEqual(appended);
    expect(clients.b1).toEqual(appended);

    for (const leave of leaves) leave();
    expect(hubA.stats()).toEqual({ jobs: 0, sinks: 0 });
    await Promise.all([apiA.close(), apiB.close()]);
  });
});
