import { describe, expect, it } from '@jest/globals';
import { newJobId, type AgentEvent } from '@jobstream/contracts';
import { MemoryEventLog } from '@jobstream/event-log';
import { attemptHistory } from './attempt-history.js';

const token = (text: string): AgentEvent => ({ type: 'token', text });

describe('attemptHistory', () => {
  it("returns the events of one attempt only, oldest first, across the log's pages", async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const id = newJobId();
    await log.append(id, { event: token('a1'), attempt: 1 });
    await log.append(id, { event: { type: 'attempt', attempt: 2, reason: 'worker_lost' }, attempt: 2 });
    for (let i = 0; i < 2100; i++) await log.append(id, { event: token(`b${i}`), attempt: 2 });
    const h = await attemptHistory(log, id, 2);
    expect(h).toHaveLength(2101);
    expect(h.every((e) => e.attempt === 2)).toBe(true);
    expect(h[0]).toMatchObject({ type: 'attempt' });
    expect(h.at(-1)).toMatchObject({ type: 'token', text: 'b2099' });
    expect(await attemptHistory(log, id, 1)).toEqual([expect.objectContaining({ text: 'a1' })]);
  });

  it('is empty for an unknown job', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    expect(await attemptHistory(log, newJobId(), 1)).toEqual([]);
  });
});
