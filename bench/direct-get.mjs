/**
 * CPU per single-event read of the JetStream event log (`last`, `first`, short reads = direct gets), in-process:
 * `node bench/direct-get.mjs [rounds]` after `npm run build`, from the checkout to measure (it loads that checkout's
 * `libs/event-log/dist`, so an A/B runs the same script from two worktrees: `node /path/to/direct-get.mjs` in each).
 *
 * A private nats-server on a free port; 100 jobs × 20 events appended; then `rounds` rounds of, per job at once:
 * `last`, `first`, and a short read of the last 10 events (1 + 10 direct gets). Prints the reader process's CPU per
 * get (user + system, µs) and the rate; the server's CPU is not counted. LEADER_READS=1: the leader reads of a
 * replicated log (`STREAM.MSG.GET`) instead of direct gets.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startNats, killAll } from './lib/procs.mjs';

const ROUNDS = Number(process.argv[2] ?? 30);
const JOBS = 100;
const EVENTS = 20;
const { JetStreamEventLog } = await import(pathToFileURL(join(process.cwd(), 'libs/event-log/dist/index.js')).href);

const nats = await startNats();
try {
  const leaderReads = process.env.LEADER_READS === '1';
  const log = await JetStreamEventLog.create({
    servers: nats.url,
    retentionMs: 3_600_000,
    stream: 'DGBENCH',
    leaderReads,
  });
  const jobs = Array.from({ length: JOBS }, (_, i) => `dg-${i}`);
  await Promise.all(
    jobs.map(async (job) => {
      for (let i = 0; i < EVENTS; i++) {
        await log.append(job, {
          attempt: 1,
          event: i === 0 ? { type: 'status', status: 'running' } : { type: 'token', text: `tok${i} ` },
        });
      }
    }),
  );
  const lasts = new Map();
  for (const job of jobs) lasts.set(job, await log.last(job));
  const round = () =>
    Promise.all(
      jobs.flatMap((job) => {
        const last = lasts.get(job);
        return [
          log.last(job),
          log.first(job),
          log.read(job, { seq: last.seq - 10, pos: 0 }, 10).then((es) => {
            if (es.length !== 10) throw new Error(`short read gave ${es.length} events`);
          }),
        ];
      }),
    );
  const perRound = JOBS * (1 + 1 + 11);
  for (let i = 0; i < 5; i++) await round(); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await round();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const gets = ROUNDS * perRound;
  const out = {
    gets,
    cpu_us_per_get: Math.round(((cpu.user + cpu.system) / gets) * 100) / 100,
    gets_per_s: Math.round(gets / (ms / 1000)),
  };
  console.log(JSON.stringify(out));
  await log.close();
} finally {
  await nats.stop();
  killAll();
}
