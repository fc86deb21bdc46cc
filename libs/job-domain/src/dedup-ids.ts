/**
 * Every dedup id of the platform's and the runner's appends (and of the queue's dispatches), in one module: an
 * append repeated with the same id is stored once (EventLog contract), so a retry, or two processes doing the same
 * step, never write an event twice. Ids that several places must agree on say who shares them.
 */

/** The job's first event, `status: queued` (dispatch, and a thread's accepted turn). */
export const queuedDedupId = (jobId: string) => `${jobId}:queued`;

/** The queue message of a job's attempt (dispatch, thread advancing); `requestId` when an answer re-dispatches it. */
export const dispatchDedupId = (jobId: string, attempt: number, requestId?: string) =>
  requestId === undefined ? `${jobId}:dispatch:${attempt}` : `${jobId}:dispatch:${attempt}:${requestId}`;

/**
 * The `attempt` event that starts attempt `attempt` after a lost worker or a hand-back (runner): the same id both
 * ways, so whichever comes first counts once.
 */
export const attemptDedupId = (jobId: string, attempt: number) => `${jobId}:${attempt}:a`;

/** The `attempt` event that voids the previous attempt after the log lost its events (runner). */
export const rollbackDedupId = (jobId: string, attempt: number) => `${jobId}:${attempt}:rollback`;

/** `status: running` of an attempt; after an answer, of that answer (runner). */
export const runningDedupId = (jobId: string, attempt: number, requestId?: string) =>
  requestId === undefined ? `${jobId}:${attempt}:s` : `${jobId}:${attempt}:s:${requestId}`;

/** `status: queued` of the next attempt of a job handed back (runner). */
export const handBackQueuedDedupId = (jobId: string, nextAttempt: number) => `${jobId}:${nextAttempt}:q`;

/** `status: queued` after an answer (dispatch). */
export const answerQueuedDedupId = (jobId: string, attempt: number, requestId: string) =>
  `${jobId}:${attempt}:q:${requestId}`;

/** `status: waiting_for_input` after a question (the runner, or the answer's dispatch if it comes first). */
export const waitingDedupId = (jobId: string, attempt: number, requestId: string) =>
  `${jobId}:${attempt}:w:${requestId}`;

/** The `input_received` of an answer (the runner that still holds the job, or the answer's dispatch). */
export const inputReceivedDedupId = (jobId: string, requestId: string) => `${jobId}:input:${requestId}`;

/**
 * The agent's `n`-th output of an attempt (runner); `round` counts the answers received while the runner held the
 * job (each starts the agent again).
 */
export const agentOutputDedupId = (jobId: string, attempt: number, round: number, n: number) =>
  round === 0 ? `${jobId}:${attempt}:${n}` : `${jobId}:${attempt}:r${round}:${n}`;

/** Piece `k` of an output split by the size caps (piece 0 keeps the output's own id). */
export const outputPieceDedupId = (outputId: string, k: number) => (k === 0 ? outputId : `${outputId}:p${k}`);

/**
 * `count` consecutive outputs (from the one whose id is `firstId`) merged into one text event (coalesce.ts): the
 * first one's id, `+<count - 1>` after it; one output keeps its own id. The runner and the HTTP appends.
 */
export const mergedOutputDedupId = (firstId: string, count: number) =>
  count <= 1 ? firstId : `${firstId}+${count - 1}`;

/** The `tool_call_start` the runner adds for the `i`-th tool call of a question that did not announce it. */
export const toolCallStartDedupId = (outputId: string, i: number) => `${outputId}:t${i}`;

/** The `n`-th batch of an HTTP worker's lease (its outputs get `:<k>` after it). */
export const leaseBatchDedupId = (jobId: string, attempt: number, leaseId: string, n: number) =>
  `${jobId}:${attempt}:h:${leaseId}:${n}`;

/** The queue message that retries a job whose HTTP worker lease lapsed. */
export const leaseLapseDedupId = (jobId: string, leaseId: string) => `${jobId}:lapse:${leaseId}`;

/** The runner's terminal event of one attempt. */
export const endDedupId = (jobId: string, attempt: number) => `${jobId}:${attempt}:end`;

/** The watchdog's `worker_lost` of one attempt (every watchdog in every process uses it). */
export const watchdogDedupId = (jobId: string, attempt: number) => `${jobId}:${attempt}:watchdog`;

/** A cancel (of a queued or waiting job by the API, or by the runner that parks a cancelled job): one per job. */
export const cancelledDedupId = (jobId: string) => `${jobId}:cancelled`;

/** The `input_timeout` of one question (watchdog). */
export const inputTimeoutDedupId = (jobId: string, requestId: string) => `${jobId}:input-timeout:${requestId}`;
