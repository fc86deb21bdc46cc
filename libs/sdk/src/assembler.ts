/**
 * Assembles a job's output text from its `token` events, honoring attempts: an `attempt` event voids everything
 * earlier attempts produced, and a stray token stamped with an older attempt than the current one is ignored.
 */
import type { JobEvent } from '@jobstream/contracts/events';

export type AssemblerChange =
  | { kind: 'token'; text: string }
  /** A new attempt started: the text so far was discarded. */
  | { kind: 'reset'; attempt: number; discarded: string }
  | { kind: 'none' };

export class TokenAssembler {
  private parts: string[] = [];
  private currentAttempt = 0;

  /** The text of the current attempt so far. */
  get text(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')];
    return this.parts[0] ?? '';
  }

  get attempt(): number {
    return this.currentAttempt;
  }

  /** Continues from a snapshot: its text is the current attempt's text so far. */
  restore(text: string, attempt: number): void {
    this.parts = text === '' ? [] : [text];
    this.currentAttempt = attempt;
  }

  apply(e: JobEvent): AssemblerChange {
    if (e.type === 'attempt') {
      const discarded = this.text;
      this.parts = [];
      this.currentAttempt = Math.max(this.currentAttempt, e.attempt);
      return { kind: 'reset', attempt: e.attempt, discarded };
    }
    if (typeof e.attempt === 'number' && e.attempt > this.currentAttempt) this.currentAttempt = e.attempt;
    if (e.type === 'token') {
      if (typeof e.attempt === 'number' && e.attempt < this.currentAttempt) return { kind: 'none' };
      this.parts.push(e.text);
      return { kind: 'token', text: e.text };
    }
    return { kind: 'none' };
  }
}
