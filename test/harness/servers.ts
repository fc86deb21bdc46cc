/**
 * Real-server test harness: starts a private `nats-server -js` or `redis-server` on free ports for an integration
 * suite, and never touches the brokers that may already run on the machine's default ports.
 *
 * - `restart()` keeps the same port (and, for NATS, the same JetStream store dir), so it simulates a crash and
 *   restart of the broker that clients reconnect to.
 * - `stop()` kills with SIGTERM (graceful) or SIGKILL (crash) and waits for the process to exit.
 * - Children are killed when the test process exits, whatever the suite did.
 * - A missing binary is a clear error naming the Debian package to install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants as fsConstants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { waitFor } from '../support/wait.js';

export type StopSignal = 'SIGTERM' | 'SIGKILL';

export interface RunningServer {
  /** Client URL (`nats://127.0.0.1:<port>` or `redis://127.0.0.1:<port>`). */
  readonly url: string;
  readonly port: number;
  /** Stops the server (default SIGTERM) and waits for it to exit. Idempotent. */
  stop(signal?: StopSignal): Promise<void>;
  /** Starts it again on the same port (and store); stops it first if it runs. */
  restart(signal?: StopSignal): Promise<void>;
  /** Kills the server for good and removes what it stored (call it in `afterAll`). */
  destroy(): Promise<void>;
}

export interface RunningNats extends RunningServer {
  /** HTTP monitoring endpoint (`http://127.0.0.1:<port>`). */
  readonly monitorUrl: string;
  readonly storeDir: string;
}

/**
 * A TCP port that was free a moment ago, taken from BELOW the kernel's ephemeral range: a server restarted on its
 * old port (a broker crash test) must find it free again, and a port from the ephemeral range can meanwhile be the
 * local end of any outgoing connection. Falls back to port 0 (the kernel's pick) where the range leaves no room.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low >= 12_000) {
    for (let i = 0; i < 50; i++) {
      const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
      if (!claimPort(port)) continue;
      const got = await tryListen(port).catch(() => undefined);
      if (got !== undefined) return got;
    }
  }
  return tryListen(0);
}

/**
 * Ports handed out stay claimed by this test process until it exits (a file per port, holding the pid, in one
 * directory shared by every Jest worker): a server stopped for a broker-outage test keeps its port, which another
 * worker's suite would otherwise find free and take before the restart. A claim whose process is gone is stale and
 * is taken over (the files are not removed at exit: Jest's workers end without running exit hooks of the tests).
 */
const PORT_CLAIMS = join(tmpdir(), 'jobstream-test-ports');
function claimPort(port: number, retried = false): boolean {
  const file = join(PORT_CLAIMS, String(port));
  try {
    mkdirSync(PORT_CLAIMS, { recursive: true });
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    if (retried) return false;
    let owner: number;
    try {
      owner = Number(readFileSync(file, 'utf8')) || 0;
    } catch {
      return false; // no claims directory, or the claim went away meanwhile: pick another port
    }
    if (owner > 0 && processAlive(owner)) return false;
    rmSync(file, { force: true });
    return claimPort(port, true);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let ephemeralLowCache: number | undefined;
function ephemeralLow(): number {
  if (ephemeralLowCache === undefined) {
    try {
      ephemeralLowCache = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    } catch {
      ephemeralLowCache = 0;
    }
    if (!Number.isFinite(ephemeralLowCache)) ephemeralLowCache = 0;
  }
  return ephemeralLowCache;
}

/** Binds `port` on loopback (0 = any), then releases it: the port, or a rejection when it is taken. */
function tryListen(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not read a free port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

function findBinary(name: string, pkg: string, extraDirs: string[]): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  throw new Error(
    `${name} not found on PATH or in ${extraDirs.join(', ')}: the integration tests run a real ${name}. ` +
      `Install it with: sudo apt-get install -y ${pkg}`,
  );
}

/** Children still running, killed when this process exits; JetStream store dirs, removed then (if `destroy` was not called). */
const children = new Set<ChildProcess>();
const storeDirs = new Set<string>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of children) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
      for (const dir of storeDirs) {
        try {
          rmSync(dir, { recursive: true, force: true });
        } catch {
          /* best effort */
        }
      }
    });
  }
}

/** Resolves once a TCP connect to the port succeeds; fails if the child exits or the timeout passes. */
async function waitForPort(
  port: number,
  child: ChildProcess,
  name: string,
  output: () => string,
  timeoutMs = 15_000,
): Promise<void> {
  const accepts = async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${output()}`,
      );
    }
    return new Promise<boolean>((resolve) => {
      const s = netConnect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
    });
  };
  await waitFor(accepts, { timeoutMs, message: () => `${name} to accept connections on port ${port}:\n${output()}` });
}

/** A restartable child process bound to fixed ports. */
class Supervised {
  private child: ChildProcess | null = null;
  private out = '';

  constructor(
    private readonly name: string,
    private readonly bin: string,
    private readonly args: string[],
    private readonly port: number,
    private readonly ready?: () => Promise<void>,
  ) {}

  async start(): Promise<void> {
    if (this.child) return;
    this.out = '';
    // A restart right after a kill may find the port in TIME_WAIT-free but briefly busy: retry a few times.
    for (let attempt = 1; ; attempt++) {
      const child = spawn(this.bin, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      track(child);
      const keep = (b: Buffer) => {
        this.out = (this.out + b.toString()).slice(-8000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      child.once('error', (err) => {
        this.out += `\nspawn error: ${err.message}`;
      });
      this.child = child;
      try {
        await waitForPort(this.port, child, this.name, () => this.out);
        if (this.ready) await this.ready();
        return;
      } catch (err) {
        await this.stop('SIGKILL');
        if (attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  async stop(signal: StopSignal = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** stop / restart / destroy of a RunningServer on this process; `cleanup` runs after destroy's kill. */
  controls(cleanup: () => void = () => {}): Pick<RunningServer, 'stop' | 'restart' | 'destroy'> {
    return {
      stop: (signal?: StopSignal) => this.stop(signal),
      restart: async (signal?: StopSignal) => {
        await this.stop(signal);
        await this.start();
      },
      destroy: async () => {
        await this.stop('SIGKILL');
        cleanup();
      },
    };
  }
}

export interface NatsOptions {
  /** Extra command-line arguments for nats-server. */
  args?: string[];
}

/** Starts `nats-server -js` on free client and monitoring ports with a private store dir. */
export async function startNats(opts: NatsOptions = {}): Promise<RunningNats> {
  const bin = findBinary('nats-server', 'nats-server', ['/usr/sbin', '/usr/bin', '/usr/local/bin']);
  const port = await freePort();
  const monitorPort = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'jobstream-nats-'));
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const args = [
    '-js',
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-m',
    String(monitorPort),
    '-sd',
    storeDir,
    ...(opts.args ?? []),
  ];
  // JetStream is ready once /healthz answers ok (the client port may open a little before).
  const ready = async () => {
    await waitFor(async () => (await fetch(`${monitorUrl}/healthz`)).ok, {
      retryErrors: true,
      message: 'nats-server /healthz to be ok',
    });
  };
  const proc = new Supervised('nats-server', bin, args, port, ready);
  storeDirs.add(storeDir);
  await proc.start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl,
    storeDir,
    ...proc.controls(() => {
      storeDirs.delete(storeDir);
      rmSync(storeDir, { recursive: true, force: true });
    }),
  };
}

export interface RedisOptions {
  /** Keep data across restart() with an append-only file in a temp dir, as a production Redis would. */
  persist?: boolean;
  /** Start as a replica of the Redis on this loopback port (in sync right away: diskless, no delay). */
  replicaOf?: number;
}

/** Starts a throw-away `redis-server` on a free port (no persistence unless asked). */
export async function startRedis(opts: RedisOptions = {}): Promise<RunningServer> {
  const bin = findBinary('redis-server', 'redis-server', ['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  const port = await freePort();
  const dir = opts.persist ? mkdtempSync(join(tmpdir(), 'jobstream-redis-')) : null;
  // no 5 s wait before a (diskless) full sync of a replica
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--repl-diskless-sync-delay', '0'];
  args.push(...(dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] : ['--appendonly', 'no']));
  if (opts.replicaOf !== undefined)
    args.push('--replicaof', '127.0.0.1', String(opts.replicaOf), '--repl-diskless-load', 'swapdb');
  const proc = new Supervised('redis-server', bin, args, port);
  await proc.start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    ...proc.controls(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }),
  };
}

export interface ClusterNode extends RunningNats {
  /** `server_name` of the node (`n1`, `n2`, …), as JetStream reports stream leaders. */
  readonly name: string;
  readonly clusterPort: number;
  /** True while the node's process runs. */
  running(): boolean;
}

export interface RunningNatsCluster {
  readonly nodes: ClusterNode[];
  /** Every node's client URL, comma separated (what `NATS_URL` takes). */
  readonly urls: string;
  node(name: string): ClusterNode;
  /** Kills every node and removes their stores. */
  destroy(): Promise<void>;
}

/**
 * Starts a `size`-node nats-server cluster with JetStream on every node (loopback only, free ports, one config
 * file and store dir per node: `server_name`, `cluster { name, listen, routes }`, `jetstream { store_dir }`), and
 * waits until every node sees a JetStream meta leader. `restart()` of a node keeps its ports and store, as a
 * crashed machine coming back does; it resolves once the node's client port accepts connections and its
 * monitoring endpoint answers (it may still be catching up).
 */
export async function startNatsCluster(size = 3): Promise<RunningNatsCluster> {
  const bin = findBinary('nats-server', 'nats-server', ['/usr/sbin', '/usr/bin', '/usr/local/bin']);
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({
      client: await freePort(),
      monitor: await freePort(),
      cluster: await freePort(),
    })),
  );
  const nodes: ClusterNode[] = [];
  for (const [i, p] of ports.entries()) {
    const name = `n${i + 1}`;
    const storeDir = mkdtempSync(join(tmpdir(), `jobstream-nats-${name}-`));
    storeDirs.add(storeDir);
    const routes = ports.filter((_, j) => j !== i).map((o) => `nats-route://127.0.0.1:${o.cluster}`);
    const conf = join(storeDir, 'nats.conf');
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${p.client}`,
        `http: 127.0.0.1:${p.monitor}`,
        `jetstream { store_dir: "${join(storeDir, 'js')}" }`,
        `cluster { name: jobstream-test, listen: 127.0.0.1:${p.cluster}, routes: [${routes.join(', ')}] }`,
        '',
      ].join('\n'),
    );
    const monitorUrl = `http://127.0.0.1:${p.monitor}`;
    const ready = async () => {
      await waitFor(async () => (await fetch(`${monitorUrl}/varz`)).ok, {
        timeoutMs: 30_000,
        intervalMs: 100,
        retryErrors: true,
        message: `nats node ${name} monitoring to answer`,
      });
    };
    const proc = new Supervised(`nats-server ${name}`, bin, ['-c', conf], p.client, ready);
    let up = false;
    nodes.push({
      name,
      url: `nats://127.0.0.1:${p.client}`,
      port: p.client,
      clusterPort: p.cluster,
      monitorUrl,
      storeDir,
      running: () => up,
      stop: async (signal?: StopSignal) => {
        up = false;
        await proc.stop(signal);
      },
      restart: async (signal?: StopSignal) => {
        up = false;
        await proc.stop(signal);
        await proc.start();
        up = true;
      },
      destroy: async () => {
        up = false;
        await proc.stop('SIGKILL');
        storeDirs.delete(storeDir);
        rmSync(storeDir, { recursive: true, force: true });
      },
    });
    (nodes[i] as unknown as { start: () => Promise<void> }).start = async () => {
      await proc.start();
      up = true;
    };
  }
  const destroy = async () => {
    await Promise.all(nodes.map((n) => n.destroy()));
  };
  try {
    await Promise.all(nodes.map((n) => (n as unknown as { start: () => Promise<void> }).start()));
    // JetStream is usable once every node knows the meta leader
    await waitFor(
      async () => {
        for (const n of nodes) {
          const jsz = (await (await fetch(`${n.monitorUrl}/jsz`)).json()) as { meta_cluster?: { leader?: string } };
          if (!jsz.meta_cluster?.leader) return false;
        }
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 100, retryErrors: true, message: 'the JetStream meta leader to be elected' },
    );
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url).join(','),
    node: (name) => {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no node ${name}`);
      return n;
    },
    destroy,
  };
}

export interface RunningRedisSentinel {
  /** The sentinels' addresses, `host:port,…` (what `REDIS_SENTINELS` takes). */
  readonly sentinels: string;
  /** The master name the sentinels monitor (`REDIS_SENTINEL_NAME`). */
  readonly name: string;
  /** The data nodes: [initial primary, replica]. */
  readonly nodes: RunningServer[];
  /** What the sentinels and the replica say now (for a failure message: why no failover happened). */
  diagnostics(): Promise<string>;
  /** The port of the node the sentinels report as primary now. */
  primaryPort(): Promise<number>;
  destroy(): Promise<void>;
}

/**
 * Redis with Sentinel on loopback, free ports: a primary, one replica, and three sentinels (`redis-sentinel`,
 * Debian's package, or `redis-server --sentinel`) with quorum 2 and a 1 s down-after, so a killed primary is
 * replaced within a few seconds. Resolves once every sentinel knows the replica.
 */
export async function startRedisSentinel(name = 'jobstream'): Promise<RunningRedisSentinel> {
  const server = findBinary('redis-server', 'redis-server', ['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  let sentinelBin: string | null = null;
  try {
    sentinelBin = findBinary('redis-sentinel', 'redis-sentinel', ['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  } catch {
    /* redis-server --sentinel does the same */
  }
  const dir = mkdtempSync(join(tmpdir(), 'jobstream-sentinel-'));
  storeDirs.add(dir);
  const [p1, p2] = [await freePort(), await freePort()];
  const dataNode = (port: number, extra: string[]) => {
    // no 5 s wait before a (diskless) full sync: a replica is in sync right away
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--dbfilename',
      `dump-${port}.rdb`,
      '--repl-diskless-sync-delay',
      '0',
      ...extra,
    ];
    const proc = new Supervised(`redis-server :${port}`, server, args, port);
    const node: RunningServer = {
      url: `redis://127.0.0.1:${port}`,
      port,
      ...proc.controls(),
    };
    return { proc, node };
  };
  const primary = dataNode(p1, []);
  const replica = dataNode(p2, ['--replicaof', '127.0.0.1', String(p1)]);
  const sentinels: { proc: Supervised; port: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir "${dir}"`,
        `sentinel monitor ${name} 127.0.0.1 ${p1} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const proc = sentinelBin
      ? new Supervised(`redis-sentinel :${port}`, sentinelBin, [conf], port)
      : new Supervised(`redis-server --sentinel :${port}`, server, [conf, '--sentinel'], port);
    sentinels.push({ proc, port });
  }
  const destroy = async () => {
    await Promise.all([
      ...sentinels.map((s) => s.proc.stop('SIGKILL')),
      primary.proc.stop('SIGKILL'),
      replica.proc.stop('SIGKILL'),
    ]);
    storeDirs.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  /** One sentinel command over a raw RESP connection (no client library needed here). */
  const ask = (port: number, ...cmd: string[]) =>
    new Promise<string>((resolve, reject) => {
      const s = netConnect({ port, host: '127.0.0.1' });
      let buf = '';
      s.setTimeout(1_000, () => s.destroy(new Error('timeout')));
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.endsWith('\r\n') && !/^\*\d+\r\n$/.test(buf)) {
          s.end();
          resolve(buf);
        }
      });
      s.on('error', reject);
      s.write(`*${cmd.length}\r\n${cmd.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`);
    });
  const primaryPort = async () => {
    for (const s of sentinels) {
      try {
        const reply = await ask(s.port, 'SENTINEL', 'get-master-addr-by-name', name);
        const port = Number(/\r\n(\d+)\r\n$/.exec(reply)?.[1]);
        if (port > 0) return port;
      } catch {
        /* next sentinel */
      }
    }
    throw new Error('no sentinel answered');
  };
  try {
    await primary.proc.start();
    await replica.proc.start();
    await Promise.all(sentinels.map((s) => s.proc.start()));
    await waitFor(
      async () => {
        if (!(await ask(p2, 'INFO', 'replication')).includes('master_link_status:up')) return false;
        for (const s of sentinels) {
          const replicas = await ask(s.port, 'SENTINEL', 'replicas', name);
          const others = await ask(s.port, 'SENTINEL', 'sentinels', name);
          if (!replicas.includes(String(p2)) || (others.match(/\*\d+\r\n/g) ?? []).length < 3) return false;
        }
        return true;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        retryErrors: true,
        message: 'the replica to sync and the sentinels to discover it and each other',
      },
    );
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    name,
    nodes: [primary.node, replica.node],
    primaryPort,
    diagnostics: async () => {
      const lines: string[] = [];
      const flat = (reply: string) =>
        reply
          .split('\r\n')
          .filter((l) => l && !/^[*$]/.test(l))
          .join(' ');
      for (const s of sentinels) {
        lines.push(
          `sentinel :${s.port} master: ${await ask(s.port, 'SENTINEL', 'master', name).then(flat, (e: Error) => e.message)}`,
        );
      }
      lines.push(`replica :${p2}: ${await ask(p2, 'INFO', 'replication').then(flat, (e: Error) => e.message)}`);
      return lines.join('\n');
    },
    destroy,
  };
}
