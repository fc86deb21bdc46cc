import { describe, expect, it } from '@jest/globals';
import {
  EVENT_TYPES,
  TERMINAL_EVENT_TYPES,
  isTerminalEvent as contractIsTerminalEvent,
} from '@jobstream/contracts/events';
import { JOB_STATUSES, TERMINAL_STATUSES } from '@jobstream/contracts/job';
import { isTerminalEvent, isTerminalStatus } from './terminal.js';

describe('terminal checks (the SDK re-exports the zod-free contracts module)', () => {
  it('agree with the contracts for every event type', () => {
    for (const type of EVENT_TYPES) {
      expect(isTerminalEvent({ type })).toBe(contractIsTerminalEvent({ type }));
      expect(isTerminalEvent({ type })).toBe((TERMINAL_EVENT_TYPES as readonly string[]).includes(type));
    }
  });
  it('agree with the contracts for every status', () => {
    for (const s of JOB_STATUSES)
      expect(isTerminalStatus(s)).toBe((TERMINAL_STATUSES as readonly string[]).includes(s));
  });
});
