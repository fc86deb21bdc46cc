import { InvalidEventError, parseAgentEvent, type JobEvent } from '@jobstream/contracts';
import type { AppendInput } from './event-log.port.js';

/** Validates an append and builds the stored event; shared by every driver so they validate alike. */
export function stampEvent(jobId: string, seq: number, input: AppendInput): JobEvent {
  const body = parseAgentEvent(input.event);
  if (!Number.isInteger(input.attempt) || input.attempt < 1) {
    throw new RangeError(`attempt must be an integer ≥ 1, got ${String(input.attempt)}`);
  }
  // the `attempt` event names the attempt it starts: the same number as its envelope
  if (body.type === 'attempt' && body.attempt !== input.attempt) {
    const msg = `an attempt event of attempt ${body.attempt} must be appended as attempt ${body.attempt}, not ${input.attempt}`;
    throw new InvalidEventError(msg, [msg]);
  }
  return {
    job_id: jobId,
    seq,
    ts: (input.ts ?? new Date()).toISOString(),
    attempt: input.attempt,
    ...body,
  } as JobEvent;
}
