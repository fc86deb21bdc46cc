/**
 * Example: a three-turn conversation with the `echo` agent, where the second turn interrupts the first.
 *
 *   npm run example:chat
 *   JOBSTREAM_URL=http://localhost:3000 JOBSTREAM_API_KEY=… npm run example:chat
 *
 * Turn 1 streams slowly; while it streams, turn 2 arrives with `ifBusy: 'interrupt'`: turn 1 ends `cancelled`
 * (reason `interrupted`) and turn 2 starts after that. Turn 3 waits politely (`ifBusy: 'enqueue'`). Each turn's
 * agent sees the conversation so far (echo reports `turn` and `history_chars` in its final output).
 * Token text goes to stdout, the narration to stderr. Exit code 0 when the conversation went as described.
 */
import { createClient, streamJobUntilComplete, type Job } from '@jobstream/sdk';

const baseUrl = process.env['JOBSTREAM_URL'] || 'http://localhost:3000';
const apiKey = process.env['JOBSTREAM_API_KEY'] || undefined;
const log = (...args: unknown[]) => console.error('[chat]', ...args);

async function main(): Promise<number> {
  const client = createClient({ baseUrl, ...(apiKey ? { apiKey } : {}) });
  const thread = await client.threads.create({ agent: 'echo', metadata: { example: 'chat' } });
  log(`thread ${thread.id}`);

  // Turn 1: a long answer, streamed token by token.
  const first = await client.threads.send(thread.id, {
    message: 'Tell me a long story about streams that never end, please. ',
    repeat: 50,
    delay_ms: 40,
  });
  log(`turn ${first.turn}: ${first.id}`);
  const firstDone = streamJobUntilComplete(first.id, { client, onToken: (t) => process.stdout.write(t) });

  // The user types again before the answer ends: interrupt.
  await new Promise((r) => setTimeout(r, 400));
  const second = await client.threads.send(thread.id, { message: 'Actually, just say hi.' }, { ifBusy: 'interrupt' });
  log(`\nturn ${second.turn}: ${second.id} (interrupting turn ${first.turn})`);
  const r1 = await firstDone;
  log(
    `turn ${first.turn} ended: ${r1.terminal.type}${r1.terminal.type === 'cancelled' ? ` (${r1.terminal.reason})` : ''}`,
  );

  // Turn 3 is queued behind turn 2 if it is still running.
  const third = await client.threads.send(thread.id, { message: 'Thanks!' }, { ifBusy: 'enqueue' });
  const turns: Job[] = [];
  for (const j of [second, third]) {
    const r = await streamJobUntilComplete(j.id, { client, onToken: (t) => process.stdout.write(t) });
    process.stdout.write('\n');
    if (r.terminal.type === 'done') log(`turn ${j.turn} done: ${JSON.stringify(r.terminal.output)}`);
    turns.push(await client.jobs.get(j.id));
  }
  const final = await client.threads.get(thread.id);
  log(`thread ${final.id}: ${final.turns} turns, ${final.status}`);
  const ok = r1.terminal.type === 'cancelled' && turns.every((t) => t.status === 'completed');
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
