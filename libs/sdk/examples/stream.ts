/**
 * Example: create an `echo` job and follow it with `subscribeJobStream`, writing ONLY the token text to stdout as
 * it arrives (everything else goes to stderr).
 *
 *   npm run example:stream
 *   EXAMPLE_MESSAGE='hello streaming world' JOBSTREAM_URL=http://localhost:3000 JOBSTREAM_API_KEY=… npm run example:stream
 *
 * Env: JOBSTREAM_URL (default http://localhost:3000), JOBSTREAM_API_KEY (optional), EXAMPLE_MESSAGE,
 * EXAMPLE_DELAY_MS (pause between tokens, default 20).
 * Exit code: 0 when the job completed, 1 when it failed or was cancelled, 2 when streaming failed.
 */
import { createClient, subscribeJobStream } from '@jobstream/sdk';

const baseUrl = process.env['JOBSTREAM_URL'] || 'http://localhost:3000';
const apiKey = process.env['JOBSTREAM_API_KEY'] || undefined;
const message =
  process.env['EXAMPLE_MESSAGE'] ?? 'Hello from jobstream! Tokens stream in one by one, and survive reconnects.';
const delayMs = Number(process.env['EXAMPLE_DELAY_MS'] ?? 20);

const log = (...args: unknown[]) => console.error('[example]', ...args);

async function main(): Promise<number> {
  const client = createClient({ baseUrl, ...(apiKey ? { apiKey } : {}) });
  const job = await client.jobs.create({ agent: 'echo', input: { message, delay_ms: delayMs } });
  log(`created ${job.id} (status ${job.status}) on ${baseUrl}${apiKey ? ' with an API key' : ''}`);

  const sub = subscribeJobStream(
    job.id,
    {
      onToken: (token) => process.stdout.write(token),
      onAttempt: (e) => log(`attempt ${e.attempt} started (${e.reason}); the earlier attempt's output is void`),
      onReconnect: (i) =>
        log(
          `connection lost (${i.error instanceof Error ? i.error.message : String(i.error)}); reconnecting in ${i.delayMs} ms`,
        ),
      onComplete: (t) => log(`terminal event: ${t.type}${t.type === 'error' ? ` ${t.code}: ${t.message}` : ''}`),
      onError: (err) => log(`streaming failed: ${err instanceof Error ? err.message : String(err)}`),
    },
    { client },
  );
  process.once('SIGINT', () => {
    log('interrupted; the job keeps running on the server', `(resume after ${sub.getLastEventId() ?? 'start'})`);
    sub.close();
  });
  const result = await sub.done;
  if (result.outcome !== 'completed') return 2;
  const final = await client.jobs.get(job.id);
  log(`job ${final.id} ${final.status}; usage ${JSON.stringify(final.usage)}; last event ${result.lastEventId}`);
  return result.terminal.type === 'done' ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    process.exitCode = 2;
  },
);
