import { describe, expect, it } from '@jest/globals';
import { START, newJobId, type EventPosition } from '@jobstream/contracts';
import type { LoggedEvent } from './event-log.port.js';
import { MemoryEventLog } from './memory-event-log.js';
import { Sequencer } from './sequencer.js';

async function logWith(n: number) {
  const log = new MemoryEventLog({ retentionMs: 3_600_000 });
  const job = newJobId();
  const events: LoggedEvent[] = [];
  for (let i = 0; i < n; i++)
    events.push(await log.append(job, { event: { type: 'token', text: `${i}` }, attempt: 1 }));
  return { log, job, events };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('Sequencer', () => {
  it('replays from a position, then passes live events through, each once, in order', async () => {
    const { log, job, events } = await logWith(10);
    const out: number[] = [];
    const seq = new Sequencer({
      start: { seq: 3, pos: events[2]!.pos },
      fetch: (after, limit) => log.read(job, after, limit),
      emit: (e) => out.push(e.event.seq),
      onError: (e) => {
        throw e;
      },
      pageSize: 3,
    });
    // live events that overlap the replay arrive while it runs
    const replay = seq.catchUp();
    seq.push(events[8]!);
    seq.push(events[9]!);
    await replay;
    const live = await log.append(job, { event: { type: 'token', text: 'new' }, attempt: 1 });
    seq.push(live);
    seq.push(live);
    await settle();
    expect(out).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    await log.close();
  });

  it('backfills a gap in live delivery from the log before going on', async () => {
    const { log, job, events } = await logWith(8);
    const out: number[] = [];
    const seq = new Sequencer({
      start: null,
      fetch: (after, limit) => log.read(job, after, limit),
      emit: (e) => out.push(e.event.seq),
      onError: (e) => {
        throw e;
      },
    });
    seq.push(events[0]!);
    seq.push(events[1]!);
    seq.push(events[5]!); // 3, 4, 5 were lost by the broker
    seq.push(events[4]!); // late duplicate of something backfilled
    await settle();
    seq.push(events[6]!);
    seq.push(events[7]!);
    expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await log.close();
  });

  it('reports events that expired from the log instead of skipping them', async () => {
    const { log, job, events } = await logWith(5);
    let lost: [EventPosition, number] | null = null;
    const out: number[] = [];
    const seq = new Sequencer({
      start: START,
      fetch: async (after, limit) => (await log.read(job, after, limit)).filter((e) => e.event.seq > 2),
      emit: (e) => out.push(e.event.seq),
      onError: () => {},
      onLost: (last, first) => {
        lost = [last, first.event.seq];
      },
    });
    await seq.catchUp();
    expect(out).toEqual([]);
    expect(lost).toEqual([START, 3]);
    seq.push(events[0]!);
    expect(out).toEqual([]);
    await log.close();
  });

  it('stops on a read failure and reports it once', async () => {
    const errors: unknown[] = [];
    const seq = new Sequencer({
      start: START,
      fetch: async () => {
        throw new Error('down');
      },
      emit: () => {},
      onError: (e) => errors.push(e),
    });
    await seq.catchUp();
    await seq.catchUp();
    expect(errors).toHaveLength(1);
  });
});
