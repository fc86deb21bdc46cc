/** The public thread representation. */
import type { Thread } from '@jobstream/contracts';
import type { ThreadRecord } from '@jobstream/thread-store';

export function toThread(t: ThreadRecord): Thread {
  return {
    id: t.id,
    agent: t.agent,
    status: t.active_job_id === null ? 'idle' : 'busy',
    turns: t.turns,
    active_job_id: t.active_job_id,
    last_job_id: t.last_job_id,
    created_at: t.created_at,
    updated_at: t.updated_at,
    metadata: t.metadata,
    ...(t.external_id !== null ? { external_id: t.external_id } : {}),
  };
}
