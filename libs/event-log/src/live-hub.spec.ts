import { describe, expect, it } from '@jest/globals';
import { newJobId } from '@jobstream/contracts';
import type { EventLog, LoggedEvent } from './event-log.port.js';
import { LiveHub } from './live-hub.js';
import { MemoryEventLog } from './memory-event-log.js';

function counting(log: EventLog) {
  const counts = { subscribes: 0, active: 0 };
  const wrapped: EventLog = Object.assign(Object.create(log) as EventLog, {
    subscribe: async (jobId: string, l: (e: LoggedEvent) => void) => {
      counts.subscribes++;
      counts.active++;
      const sub = await log.subscribe(jobId, l);
      let on = true;
      return {
        unsubscribe: () => {
          if (on) counts.active--;
          on = false;
          sub.unsubscribe();
        },
      };
    },
  });
  return { wrapped, counts };
}

describe('LiveHub', () => {
  it('holds one log subscription per job whatever the number of clients, and frees it with the last', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const { wrapped, counts } = counting(log);
    let prepared = 0;
    const hub = new LiveHub(wrapped, (e) => {
      prepared++;
      return `frame ${e.event.seq}`;
    });
    const job = newJobId();
    const got: string[][] = [[], [], []];
    const leaves = await Promise.all(
      got.map((arr) => hub.subscribe(job, { next: (_e, f) => arr.push(f), error: () => {} })),
    );
    expect(counts.subscribes).toBe(1);
    expect(hub.stats()).toEqual({ jobs: 1, sinks: 3 });
    expect(hub.feedOf(job)).toEqual({ sinks: 3 });
    expect(hub.feedOf(newJobId())).toBeNull();
    await log.append(job, { event: { type: 'token', text: 'a' }, attempt: 1 });
    await log.append(job, { event: { type: 'token', text: 'b' }, attempt: 1 });
    expect(got).toEqual([
      ['frame 1', 'frame 2'],
      ['frame 1', 'frame 2'],
      ['frame 1', 'frame 2'],
    ]);
    expect(prepared).toBe(2); // once per event, not once per client
    leaves[0]!();
    leaves[1]!();
    expect(counts.active).toBe(1);
    leaves[2]!();
    leaves[2]!();
    expect(counts.active).toBe(0);
    expect(hub.stats()).toEqual({ jobs: 0, sinks: 0 });
    expect(hub.feedOf(job)).toBeNull();
    await log.close();
  });

  it('passes a failed subscription to the caller and keeps nothing', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const broken: EventLog = Object.assign(Object.create(log) as EventLog, {
      subscribe: async () => {
        throw new Error('broker down');
      },
    });
    const hub = new LiveHub(broken, (e) => e);
    await expect(hub.subscribe(newJobId(), { next: () => {}, error: () => {} })).rejects.toThrow('broker down');
    expect(hub.stats()).toEqual({ jobs: 0, sinks: 0 });
    await log.close();
  });
});
