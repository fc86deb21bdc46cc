/** SSE frames shaped like jobstream's own (`id`/`event`/`data` with the same event JSON), for the ceiling and the peer. */
export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};
const JOB = 'job_01benchbenchbenchbenchbench';
export function tokenFrame(seq, text = 'tok ') {
  const ev = { job_id: JOB, seq, ts: new Date().toISOString(), attempt: 1, type: 'token', text };
  return `id: ${seq}-${seq}-abcdef\nevent: token\ndata: ${JSON.stringify(ev)}\n\n`;
}
export function doneFrame(seq, n) {
  const ev = {
    job_id: JOB,
    seq,
    ts: new Date().toISOString(),
    attempt: 1,
    type: 'done',
    usage: { input_tokens: 1, output_tokens: n },
    output: { text: '' },
  };
  return `id: ${seq}-${seq}-abcdef\nevent: done\ndata: ${JSON.stringify(ev)}\n\n`;
}
