/**
 * The failover scenario shared by the cluster integration suite and `npm run soak:cluster`: a 3-node nats-server
 * cluster (JetStream R3), Redis, two API processes and a worker process; SSE clients (the SDK, reconnecting)
 * follow jobs created before, during and after a node is SIGKILLed mid-stream and restarted. Each round reports
 * what every client saw, every HTTP status the clients and creators got, and the failover time (kill → the first
 * event any client received after it).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { DISPATCH_STREAM, EVENTS_STREAM } from '@jobstream/contracts';
import { partitionIndexOf } from '@jobstream/event-log';
import { streamJobUntilComplete, seededRandom, type CompletedJob, type FetchLike } from '@jobstream/sdk';
import {
  startNatsCluster,
  startRedis,
  type ClusterNode,
  type RunningNatsCluster,
  type RunningServer,
} from '../harness/servers.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { sleep, waitFor } from '../support/wait.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';

export const KEY = 'cluster-key-000001-0123456789abcdef'; // ≥ 32 characters: the rigs run NODE_ENV=production

export interface Rig {
  cluster: RunningNatsCluster;
  redis: RunningServer;
  apis: ApiProcess[];
  worker: WorkerProcess;
  close(): Promise<void>;
}

/**
 * Starts the cluster, Redis, two API processes and one worker, all with JETSTREAM_REPLICAS=3. `prepare` runs on
 * the cluster before any process starts (e.g. to leave streams as an older deployment made them).
 */
export async function startRig(
  opts: { prepare?: (cluster: RunningNatsCluster) => Promise<void>; env?: Record<string, string> } = {},
): Promise<Rig> {
  const [cluster, redis] = await Promise.all([startNatsCluster(3), startRedis({ persist: true })]);
  try {
    await opts.prepare?.(cluster);
  } catch (err) {
    await Promise.all([cluster.destroy(), redis.destroy()]);
    throw err;
  }
  const env = {
    NATS_URL: cluster.urls,
    REDIS_URL: redis.url,
    JETSTREAM_REPLICAS: '3',
    API_KEYS: `acme:${KEY}`,
    NODE_ENV: 'production',
    JOB_STALL_TIMEOUT_MS: '15000',
    SSE_RETRY_MS: '200',
    HEARTBEAT_MS: '1000',
    RATE_LIMIT_CREATE_PER_MIN: '0',
    ...opts.env,
  };
  const apis: ApiProcess[] = [];
  let worker: WorkerProcess | null = null;
  const close = async () => {
    await Promise.all([...apis.map((a) => a.stop('SIGKILL')), worker?.stop('SIGKILL')]);
    await Promise.all([cluster.destroy(), redis.destroy()]);
  };
  try {
    // one API first: it creates the streams (R3); the others find them
    apis.push(await spawnApi(env, 60_000));
    apis.push(await spawnApi(env, 60_000));
    worker = await spawnWorker({ ...env, WORKER_CONCURRENCY: '64' }, 60_000);
  } catch (err) {
    await close();
    throw err;
  }
  return { cluster, redis, apis, worker, close };
}

/** The node that leads `stream` now, as JetStream reports it (asked through any node that answers). */
export async function streamLeader(cluster: RunningNatsCluster, stream = EVENTS_STREAM): Promise<ClusterNode | null> {
  for (const n of cluster.nodes.filter((x) => x.running())) {
    let nc: NatsConnection | null = null;
    try {
      nc = await connect({ servers: n.url, timeout: 1_000, reconnect: false });
      const jsm = await jetstreamManager(nc, { timeout: 1_500 });
      const info = await jsm.streams.info(stream);
      const leader = info.cluster?.leader;
      if (leader) return cluster.node(leader);
    } catch {
      /* ask the next node */
    } finally {
      await nc?.close().catch(() => {});
    }
  }
  return null;
}

/** True when every stream of the project has a leader and every replica is current (the cluster is whole). */
export async function clusterSettled(cluster: RunningNatsCluster): Promise<boolean> {
  if (!cluster.nodes.every((n) => n.running())) return false;
  const nc = await connect({ servers: cluster.urls.split(','), timeout: 1_000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 1_500 });
    const names: string[] = [DISPATCH_STREAM];
    for await (const name of jsm.streams.names()) if (partitionIndexOf(name) !== null) names.push(name);
    for (const name of names) {
      const c = (await jsm.streams.info(name)).cluster;
      if (!c?.leader || (c.replicas ?? []).length !== cluster.nodes.length - 1) return false;
      if (!(c.replicas ?? []).every((r) => r.current && !r.offline)) return false;
    }
    return true;
  } finally {
    await nc.close().catch(() => {});
  }
}

export interface RoundOptions {
  seed: number;
  /** Who is killed: the events stream's leader, or a random node. */
  victim: 'leader' | 'random';
  /** How long the node stays down at least (it is restarted once a new leader serves, and not before this). */
  downMs: number;
  jobsBefore: number;
  jobsDuring: number;
  jobsAfter: number;
  /** Tokens per job and delay between them. */
  words: number;
  delayMs: number;
  /** Deadline for every client to finish (ms). */
  deadlineMs: number;
  log?: (line: string) => void;
}

export interface ClientResult {
  jobId: string;
  phase: 'before' | 'during' | 'after';
  exact: boolean;
  denseSeq: boolean;
  terminal: string | null;
  status: string | null;
  error: string | null;
  reconnects: number;
}

export interface RoundResult {
  seed: number;
  victim: string;
  wasLeader: boolean;
  downMs: number;
  /** kill → first event any client received after the kill (ms); null if none came. */
  failoverMs: number | null;
  /** HTTP statuses seen by clients and creators, by status. */
  statuses: Record<number, number>;
  /** The same by request kind (`create 503`, `stream 200`, …). */
  byKind: Record<string, number>;
  count503: number;
  /** 5xx other than 503. */
  other5xx: number;
  clients: ClientResult[];
  exact: boolean;
}

function messageFor(words: number, tag: string): string {
  return Array.from({ length: words }, (_, i) => `${tag}${i}`).join(' ') + ' ✓';
}

/** One failover round on a running rig. */
export async function runRound(rig: Rig, o: RoundOptions): Promise<RoundResult> {
  const say = o.log ?? (() => {});
  const rnd = seededRandom(o.seed);
  const statuses: Record<number, number> = {};
  const byKind: Record<string, number> = {};
  const note = (s: number, kind: string) => {
    statuses[s] = (statuses[s] ?? 0) + 1;
    byKind[`${kind} ${s}`] = (byKind[`${kind} ${s}`] ?? 0) + 1;
  };
  const recordingFetch: FetchLike = async (input, init) => {
    const res = await fetch(input, init);
    note(res.status, /\/stream/.test(String(input)) ? 'stream' : 'get');
    return res;
  };
  let killedAt = 0;
  let firstAfterKill: number | null = null;

  const clients: Promise<ClientResult>[] = [];
  const tokensSeen = new Map<string, number>();
  let n = 0;
  const createAndFollow = async (phase: ClientResult['phase']) => {
    const i = n++;
    const api = rig.apis[i % rig.apis.length]!;
    const message = messageFor(o.words, `r${o.seed}j${i}w`);
    const body = JSON.stringify({ agent: 'echo', input: { message, delay_ms: o.delayMs } });
    const idem = `round-${o.seed}-job-${i}`;
    // a create is retried with the same Idempotency-Key until it answers (503s are expected during the outage)
    let jobId = '';
    const until = Date.now() + o.deadlineMs;
    for (let tries = 1; ; tries++) {
      let status = 0;
      try {
        const res = await fetch(`${api.url}/v1/jobs`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', 'Idempotency-Key': idem },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        status = res.status;
        note(status, 'create');
        if (status === 201 || status === 200) {
          jobId = ((await res.json()) as { id: string }).id;
          break;
        }
      } catch {
        /* the API did not answer in time: same as a 503, retry with the same key */
      }
      if (Date.now() > until) throw new Error(`job ${i} could not be created (last status ${status})`);
      await sleep(Math.min(1_000, 100 * tries)); // backs off like a client honoring Retry-After would
    }
    tokensSeen.set(jobId, 0);
    let reconnects = 0;
    // clients read from the other API than the one that created the job
    const streamApi = rig.apis[(i + 1) % rig.apis.length]!;
    const client = streamJobUntilComplete(jobId, {
      baseUrl: streamApi.url,
      apiKey: KEY,
      fetch: recordingFetch,
      reconnect: {
        initialDelayMs: 100,
        maxDelayMs: 1_000,
        maxRetries: 10_000,
        random: seededRandom(o.seed * 1000 + i),
      },
      signal: AbortSignal.timeout(o.deadlineMs),
      onEvent: (e) => {
        // the first event the system appended after the kill and delivered
        if (killedAt > 0 && firstAfterKill === null && Date.parse(e.ts) > killedAt) firstAfterKill = Date.now();
      },
      onToken: () => tokensSeen.set(jobId, (tokensSeen.get(jobId) ?? 0) + 1),
      onReconnect: () => reconnects++,
    }).then(
      (r: CompletedJob): ClientResult => ({
        jobId,
        phase,
        exact: r.text === message && (r.terminal.type !== 'done' || r.terminal.output.text === message),
        denseSeq: r.events.every((e, k) => e.seq === k + 1),
        terminal: r.terminal.type,
        status: r.job.status,
        error: null,
        reconnects,
      }),
      (err: unknown): ClientResult => ({
        jobId,
        phase,
        exact: false,
        denseSeq: false,
        terminal: null,
        status: null,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        reconnects,
      }),
    );
    clients.push(client);
    return jobId;
  };

  await waitFor(() => clusterSettled(rig.cluster), {
    message: 'the cluster to be whole (every replica current)',
    timeoutMs: 90_000,
    intervalMs: 50,
    retryErrors: true,
  });
  // before: jobs streaming when the node dies
  const before = await Promise.all(Array.from({ length: o.jobsBefore }, () => createAndFollow('before')));
  await waitFor(() => before.every((id) => (tokensSeen.get(id) ?? 0) >= 3), {
    message: 'every job to stream a few tokens',
    timeoutMs: 30_000,
    intervalMs: 50,
  });

  const leader = await streamLeader(rig.cluster);
  const victim =
    o.victim === 'leader' && leader ? leader : rig.cluster.nodes[Math.floor(rnd() * rig.cluster.nodes.length)]!;
  say(
    `round ${o.seed}: SIGKILL ${victim.name}${victim === leader ? ' (leader of the events stream)' : ''}, down ≥ ${o.downMs} ms`,
  );
  killedAt = Date.now();
  await victim.stop('SIGKILL');

  // during: creates while the node is down (and maybe no leader serves)
  const during = Promise.all(Array.from({ length: o.jobsDuring }, () => createAndFollow('during')));
  await waitFor(
    async () => {
      const l = await streamLeader(rig.cluster);
      return l !== null && l !== victim;
    },
    {
      message: 'a leader of the events stream among the surviving nodes',
      timeoutMs: 60_000,
      intervalMs: 50,
      retryErrors: true,
    },
  );
  const downFor = Date.now() - killedAt;
  if (downFor < o.downMs) await sleep(o.downMs - downFor); // the round's chosen down time, not a synchronization
  const restartAt = Date.now();
  await victim.restart();
  say(`round ${o.seed}: ${victim.name} restarted after ${Date.now() - killedAt} ms`);
  await during;

  // after: creates once the node is back (it may still be catching up)
  await Promise.all(Array.from({ length: o.jobsAfter }, () => createAndFollow('after')));
  const results = await Promise.all(clients);
  const count503 = statuses[503] ?? 0;
  const other5xx = Object.entries(statuses)
    .filter(([s]) => Number(s) >= 500 && Number(s) !== 503)
    .reduce((a, [, c]) => a + c, 0);
  return {
    seed: o.seed,
    victim: victim.name,
    wasLeader: victim === leader,
    downMs: restartAt - killedAt,
    failoverMs: firstAfterKill === null ? null : firstAfterKill - killedAt,
    statuses,
    byKind,
    count503,
    other5xx,
    clients: results,
    exact:
      results.every((c) => c.exact && c.denseSeq && c.terminal === 'done' && c.status === 'completed') &&
      other5xx === 0,
  };
}
