// Pings the agent workers over NATS (`jobstream.worker.ping`, answered by every worker) and prints their replies.
//   NATS_URL=nats://127.0.0.1:4222 node scripts/worker-ping.mjs          # exit 0 when at least one worker is ok
//   NATS_URL=... node scripts/worker-ping.mjs --self                     # only a worker on this host counts
// The --self form is the worker container's healthcheck (a container's hostname is its own).
import { connect, Empty } from '@nats-io/transport-node';
import { hostname } from 'node:os';

const self = process.argv.includes('--self');
const servers = (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',');
let nc;
try {
  nc = await connect({ servers, name: 'jobstream-worker-ping', timeout: 2_000 });
} catch (err) {
  console.error(`cannot connect to NATS: ${err.message}`);
  process.exit(2);
}
const replies = [];
try {
  for await (const m of await nc.requestMany('jobstream.worker.ping', Empty, { strategy: 'timer', maxWait: 1_000 })) {
    try {
      replies.push(m.json());
    } catch {
      /* not a worker reply */
    }
  }
} catch (err) {
  if (!/503|no responders/i.test(`${err?.name} ${err?.message}`)) console.error(`ping failed: ${err.message}`);
}
await nc.close();
const mine = replies.filter((r) => !self || r.hostname === hostname());
for (const r of mine) console.log(JSON.stringify(r));
const ok = mine.some((r) => r.ok);
if (!ok) console.error(self ? `no healthy worker on ${hostname()} answered` : 'no healthy worker answered');
process.exit(ok ? 0 : 1);
