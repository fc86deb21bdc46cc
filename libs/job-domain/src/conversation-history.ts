/**
 * The conversation so far, as the agent of a thread's turn receives it: each earlier turn's input, and the final
 * text (`done.output.text`) of those that completed. Read by the worker when a turn starts, from the thread store
 * (turn order), the job store (inputs) and the event log (terminal events) — nothing lives in a worker's memory.
 * At most {@link HISTORY_MAX_TURNS} earlier turns (the newest) are given; turns deleted meanwhile are skipped.
 */
import type { ConversationTurn } from '@jobstream/contracts';
import type { EventLog } from '@jobstream/event-log';
import type { JobRecord, JobStore } from '@jobstream/job-store';
import type { ThreadStore, TurnRef } from '@jobstream/thread-store';

export const HISTORY_MAX_TURNS = 100;

export interface TurnContext {
  turn?: number;
  conversation?: ConversationTurn[];
}

export async function conversationOf(
  job: JobRecord,
  threads: ThreadStore,
  jobs: JobStore,
  log: EventLog,
): Promise<TurnContext> {
  if (!job.thread_id) return {};
  // the turn number is written just after the turn is accepted; a turn started in that instant finds it in the thread
  const turn = job.turn ?? (await turnOf(job.id, job.thread_id, threads));
  if (turn === undefined) return {};
  const earlier = turn - 1;
  const from = Math.max(0, earlier - HISTORY_MAX_TURNS);
  const refs: TurnRef[] = [];
  let cursor: string | null = from > 0 ? Buffer.from(`t${from}`, 'utf8').toString('base64url') : null;
  while (refs.length < earlier - from) {
    const page = await threads.turns(job.thread_id, { limit: Math.min(100, earlier - from - refs.length), cursor });
    refs.push(...page.items.filter((r) => r.turn <= earlier));
    if (!page.next_cursor || page.items.length === 0) break;
    cursor = page.next_cursor;
  }
  const turns = await Promise.all(
    refs.map(async (ref): Promise<ConversationTurn | null> => {
      const rec = await jobs.get(ref.job_id);
      if (!rec) return null;
      const last = await log.last(ref.job_id);
      // a truncated `done` (its text passed MAX_EVENT_BYTES) gives no text: too long to replay as history anyway
      const output_text = last && last.event.type === 'done' ? (last.event.output.text ?? null) : null;
      return { turn: ref.turn, job_id: ref.job_id, input: rec.input, output_text };
    }),
  );
  return { turn, conversation: turns.filter((t): t is ConversationTurn => t !== null) };
}

async function turnOf(jobId: string, threadId: string, threads: ThreadStore): Promise<number | undefined> {
  let cursor: string | null = null;
  do {
    const page = await threads.turns(threadId, { limit: 100, cursor });
    const hit = page.items.find((r) => r.job_id === jobId);
    if (hit) return hit.turn;
    cursor = page.next_cursor;
  } while (cursor);
  return undefined;
}
