import { describe, expect, it } from '@jest/globals';
import { encodeCursor } from '@jobstream/contracts';
import { StoredEvent, cursorOf, stampEvent, type LoggedEvent } from '@jobstream/event-log';
import { frameOf } from './sse-frames.js';

describe('SSE frames', () => {
  const e = stampEvent('job_01JX0000000000000000000001', 42, {
    event: { type: 'token', text: 'a "b" \\ é\n' },
    attempt: 2,
  });
  const json = JSON.stringify(e);

  it('builds the same frame for a lazily parsed stored event as for a parsed one, without parsing it', () => {
    const plain: LoggedEvent = { event: e, pos: 1234 };
    const stored = new StoredEvent(json, 1234);
    const want = `id: ${encodeCursor(e.job_id, { seq: 42, pos: 1234 })}\nevent: token\ndata: ${json}\n\n`;
    expect(frameOf(plain)).toBe(want);
    expect(frameOf(stored)).toBe(want);
    expect(cursorOf(stored)).toBe(cursorOf(plain));
    expect(stored.parsed).toBe(false);
    expect(frameOf(stored)).toBe(stored.rendered); // built once, kept on the event
  });

  it('gives each job its own cursor tag', () => {
    const other = new StoredEvent(JSON.stringify({ ...e, job_id: 'job_01JX0000000000000000000002' }), 1234);
    expect(cursorOf(other)).toBe(encodeCursor('job_01JX0000000000000000000002', { seq: 42, pos: 1234 }));
    expect(cursorOf(other)).not.toBe(cursorOf(new StoredEvent(json, 1234)));
  });
});
