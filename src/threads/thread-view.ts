/** The public thread representation. */
import type { Thread } from '../../libs/contracts/src/index.js';
import type { ThreadRecord } from '../../libs/thread-store/src/index.js';

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
  };
}
