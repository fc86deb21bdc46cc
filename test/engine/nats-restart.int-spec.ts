/**
 * Engine claim: a live feed survives a crash and restart of nats-server. While a LiveHub holds a live
 * subscription and an appender keeps appending (retrying with dedup ids), nats-server is SIGKILLed and restarted:
 * the hub's listener still gets every seq exactly once, dense and in order (nats.js reconnects and re-subscribes;
 * the hub's Sequencer backfills what the outage dropped from the log).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { newJobId } from '@jobstream/contracts';
import { EventLogUnavailableError, JetStreamEventLog, LiveHub, type LoggedEvent } from '@jobstream/event-log';
import { startNats, type RunningNats } from '../harness/servers.js';
import { sleep, waitFor } from '../support/wait.js';

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats.destroy();
});

describe('a live feed across a nats-server crash and restart', () => {
  it('delivers every seq exactly once, dense and in order', async () => {
    // The reader (the API process) reconnects later than the writer (the worker), so that the writer appends
    // while the reader has no subscription: the hub must repair that gap from the log, not just resume.
    const readerNc = await connect({
      servers: nats.url,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 3_000,
      reconnectJitter: 0,
    });
    const reader = await JetStreamEventLog.create({ nc: readerNc, retentionMs: 3_600_000, timeoutMs: 2_000 });
    const writerNc = await connect({
      servers: nats.url,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
      reconnectJitter: 0,
    });
    const writer = await JetStreamEventLog.create({ nc: writerNc, retentionMs: 3_600_000, timeoutMs: 500 });
    let liveDeliveries = 0;
    const counting = Object.assign(Object.create(reader) as JetStreamEventLog, {
      subscribe: (j: string, l: (e: LoggedEvent) => void) =>
        reader.subscribe(j, (e) => {
          liveDeliveries++;
          l(e);
        }),
    });
    const hub = new LiveHub(counting, (e: LoggedEvent) => e.event.seq);
    const job = newJobId();
    const got: number[] = [];
    const errors: unknown[] = [];
    const leave = await hub.subscribe(job, { next: (_e, seq) => got.push(seq), error: (err) => errors.push(err) });

    // The appender: one event after another, each retried with its dedup id until the log takes it.
    let stop = false;
    let appended = 0;
    const append = async (
      i: number,
      event:
        | { type: 'token'; text: string }
        | { type: 'done'; usage: { input_tokens: number; output_tokens: number }; output: { text: string } },
    ) => {
      for (;;) {
        try {
          const e = await writer.append(job, { event, attempt: 1, dedupId: `${job}:${i}` });
          expect(e.event.seq).toBe(i);
          appended = i;
          return;
        } catch (err) {
          if (!(err instanceof EventLogUnavailableError)) throw err;
          await sleep(50);
        }
      }
    };
    const appender = (async () => {
      for (let i = 1; !stop; i++) {
        await append(i, { type: 'token', text: `${i} ` });
        await sleep(5);
      }
    })();

    await waitFor(() => got.length >= 20, { message: 'live events before the crash' });
    await nats.stop('SIGKILL');
    const atCrash = appended;
    await sleep(300); // the outage's length, not a synchronization
    await nats.restart();
    // Live delivery has resumed once events appended well after the restart arrive.
    await waitFor(() => got.length > 0 && got[got.length - 1]! >= atCrash + 20, {
      message: 'live events after the restart',
      timeoutMs: 20_000,
    });
    stop = true;
    await appender;
    // The feed is demonstrably live again: a final event reaches it without any outage in between.
    const last = appended + 1;
    await append(last, { type: 'done', usage: { input_tokens: 0, output_tokens: last }, output: { text: '' } });
    await waitFor(() => got.length > 0 && got[got.length - 1]! === last, { message: 'the final event' });

    expect(errors).toEqual([]);
    expect(got).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    // events on both sides of the crash
    expect(atCrash).toBeGreaterThanOrEqual(20);
    expect(last).toBeGreaterThan(atCrash + 20);

    // What the broker delivered live (the rest came from the hub's backfill): never more than the log holds.
    expect(liveDeliveries).toBeLessThanOrEqual(last);

    leave();
    await Promise.all([reader.close(), writer.close()]);
    await Promise.all([readerNc.close(), writerNc.close()]);
  });
});
