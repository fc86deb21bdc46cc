/** The events of one attempt of a job, read from its log: what an agent continuing after an answer gets as history. */
import { START, type JobEvent } from '@jobstream/contracts';
import type { EventLog } from '@jobstream/event-log';

/** The events of `attempt` in the job's log, oldest first; empty when the log no longer holds the job's start. */
export async function attemptHistory(log: EventLog, jobId: string, attempt: number): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  let after = START;
  let first = true;
  for (;;) {
    const page = await log.read(jobId, after, 2000);
    if (page.length === 0) break;
    if (first && page[0]!.event.seq !== 1) return []; // retention removed the beginning
    first = false;
    for (const e of page) if (e.event.attempt === attempt) out.push(e.event);
    const last = page[page.length - 1]!;
    after = { seq: last.event.seq, pos: last.pos };
  }
  return out;
}
