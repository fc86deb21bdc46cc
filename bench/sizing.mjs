/**
 * The sizing table of docs/capacity.md, computed from measured unit costs: `node bench/sizing.mjs [results.json ...]`
 * (default: bench/results/capacity-2026-12-08*.json). Reads `capacity.units` (CPU per delivery / append / token,
 * NATS messages and bytes per token, Redis commands per job) and `connections` (RSS and idle CPU per connection) from
 * the files given, applies the assumptions below (ASSUME: every one is stated in docs/capacity.md) and prints a
 * Markdown table for 10 k, 100 k and 1 M concurrent streams. Nothing here is measured: it is arithmetic on figures
 * that were.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/procs.mjs';

export const ASSUME = {
  active: 0.5, // share of open streams whose job is generating at a given moment (a stream ends with its job)
  tokensPerS: 50, // per generating job
  readersPerJob: 1.25, // open streams per running job (tabs, devices, observers)
  tokensPerJob: 1_000, // 20 s at 50 tokens/s
  heartbeatS: 15, // HEARTBEAT_MS default
  apiCoreBudget: 0.5, // share of one core an API process is planned at (room for GC, bursts, joins)
  apiMaxConnections: 20_000, // per API process: memory, file descriptors, the reconnect burst of one restart
  workerCoreBudget: 0.7, // share of one core a worker process is planned at
  natsReplicas: 3, // JETSTREAM_REPLICAS: every append is stored by 3 nodes
  natsReplicaCostFactor: 2.5, // cluster CPU per append vs the measured single node (leader + 2 followers, less than 3×)
  natsNodeCores: 2, // CPU a NATS node is planned at (e.g. half of a 4-core node)
  partitionAppendsPerS: 10_000, // appends/s planned per partition (one Raft group); measure yours (docs/capacity.md)
  redisOpsPerS: 80_000, // commands/s planned per Redis primary (single-threaded)
};

const files = process.argv.slice(2);
const inputs = (
  files.length
    ? files
    : [
        join(ROOT, 'bench/results/capacity-2026-12-08.json'),
        join(ROOT, 'bench/results/capacity-2026-12-08-others.json'),
      ]
).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const pick = (k) => inputs.find((r) => r[k] && !r[k].error)?.[k];
const cap = pick('capacity');
const conn = pick('connections');
if (!cap || !conn) throw new Error('need results with `capacity` and `connections`');
const u = cap.units;
const m = u.marginal ?? {};

/**
 * Unit costs used (ms of CPU, bytes). CPU: the marginal cost (slope over the probes; a process's fixed costs —
 * timers, heartbeats — vanish at these scales), else the capacity point's figure.
 */
const cpu = (k) => (m[k] ?? u[k]) / 1000;
export const UNITS = {
  apiMsPerDelivery: cpu('api_cpu_ms_per_1k_deliveries'),
  workerMsPerAppend: cpu('worker_cpu_ms_per_1k_appends'),
  natsMsPerToken: cpu('nats_cpu_ms_per_1k_tokens'),
  natsInMsgsPerToken: u.nats_in_msgs_per_token,
  natsInBytesPerToken: u.nats_in_bytes_per_token,
  natsOutMsgsPerToken: u.nats_out_msgs_per_token,
  natsOutBytesPerToken: u.nats_out_bytes_per_token,
  redisOpsPerJob: u.redis_commands_per_job,
  // idle: one heartbeat write per connection per interval; measured at 1 s over `count` connections
  apiMsPerHeartbeat: (conn.idle_cpu_percent / 100 / conn.count) * 1000,
  rssKibPerConnection: conn.rss_per_connection_kb,
};

export function size(streams, a = ASSUME, x = UNITS) {
  const deliveries = streams * a.active * a.tokensPerS;
  const jobs = (streams * a.active) / a.readersPerJob;
  const appends = jobs * a.tokensPerS;
  const jobStarts = jobs / (a.tokensPerJob / a.tokensPerS);
  const apiCores = (deliveries * x.apiMsPerDelivery + (streams / a.heartbeatS) * x.apiMsPerHeartbeat) / 1000;
  const apis = Math.max(2, Math.ceil(apiCores / a.apiCoreBudget), Math.ceil(streams / a.apiMaxConnections));
  const workerCores = (appends * x.workerMsPerAppend) / 1000;
  const workers = Math.max(2, Math.ceil(workerCores / a.workerCoreBudget));
  const natsCores = ((appends * x.natsMsPerToken) / 1000) * a.natsReplicaCostFactor;
  const partitions = Math.max(1, Math.ceil(appends / a.partitionAppendsPerS));
  const natsNodes = Math.max(a.natsReplicas, Math.ceil(natsCores / a.natsNodeCores));
  // each API process with a reader of a job receives its live events: at most readersPerJob processes per job
  const extraOut = Math.min(a.readersPerJob, apis) - 1;
  const redisOps = jobStarts * x.redisOpsPerJob;
  return {
    streams,
    deliveries,
    jobs,
    appends,
    jobStarts,
    apiCores,
    apis,
    apiRssMb: ((streams / apis) * x.rssKibPerConnection) / 1024,
    workerCores,
    workers,
    natsCores,
    natsNodes,
    partitions,
    natsInMsgs: appends * x.natsInMsgsPerToken,
    natsInMB: (appends * x.natsInBytesPerToken) / 1e6,
    natsOutMsgs: appends * (x.natsOutMsgsPerToken + extraOut),
    natsOutMB: (appends * (x.natsOutBytesPerToken + extraOut * (x.natsOutBytesPerToken / x.natsOutMsgsPerToken))) / 1e6,
    redisOps,
    redisPrimaries: Math.max(1, Math.ceil(redisOps / a.redisOpsPerS)),
  };
}

const fmt = (n, d = 0) =>
  n >= 10_000 ? `${Math.round(n / 1000).toLocaleString('en')} k` : n.toLocaleString('en', { maximumFractionDigits: d });
const rows = [10_000, 100_000, 1_000_000].map((s) => size(s));
const line = (label, f) => `| ${label} | ${rows.map(f).join(' | ')} |`;
console.log(`unit costs used: ${JSON.stringify(UNITS)}`);
console.log(
  [
    '| | 10 k streams | 100 k streams | 1 M streams |',
    '|---|---|---|---|',
    line('generating jobs / token deliveries per s', (r) => `${fmt(r.jobs)} / ${fmt(r.deliveries)}`),
    line('appends per s / job starts per s', (r) => `${fmt(r.appends)} / ${fmt(r.jobStarts, 1)}`),
    line('**API processes** (CPU cores used)', (r) => `**${r.apis}** (${fmt(r.apiCores, 1)})`),
    line('… RSS of the connections per process', (r) => `${fmt(r.apiRssMb)} MiB`),
    line('**workers** (CPU cores used)', (r) => `**${r.workers}** (${fmt(r.workerCores, 1)})`),
    line('**NATS nodes** (cluster CPU cores, R3)', (r) => `**${r.natsNodes}** (${fmt(r.natsCores, 1)})`),
    line('**partitions** (one Raft group each)', (r) => `**${r.partitions}**`),
    line('NATS in: msgs/s, MB/s', (r) => `${fmt(r.natsInMsgs)}, ${fmt(r.natsInMB, 1)}`),
    line('NATS out: msgs/s, MB/s', (r) => `${fmt(r.natsOutMsgs)}, ${fmt(r.natsOutMB, 1)}`),
    line(
      '**Redis**: commands/s (primaries needed; one is supported)',
      (r) => `${fmt(r.redisOps)} (**${r.redisPrimaries}**)`,
    ),
  ].join('\n'),
);
