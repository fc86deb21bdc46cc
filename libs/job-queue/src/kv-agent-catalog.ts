/**
 * The agent catalogue in NATS KV: definitions in {@link AGENTS_BUCKET}, per-worker liveness with its own expiry in
 * {@link AGENT_WORKERS_BUCKET}; reads without consumers. Details: docs/internals.md.
 */
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import {
  CatalogUnavailableError,
  type AgentCatalog,
  type AgentDefinition,
  type AgentEntry,
} from './agent-catalog.port.js';
import { connectOwned, type NatsConnectOptions } from './nats-connect.js';

export const AGENTS_BUCKET = 'jobstream_agents';
export const AGENT_WORKERS_BUCKET = 'jobstream_agent_workers';
export const WORKERS_BUCKET_MAX_AGE_MS = 15 * 60_000;

export interface KvAgentCatalogOptions extends NatsConnectOptions {
  /** Replicas of both buckets (JETSTREAM_REPLICAS). Default 1. */
  replicas?: number;
  /** Bucket names (tests use their own). */
  agentsBucket?: string;
  workersBucket?: string;
}

/** The KV key of a worker's liveness for one agent. */
export const workerKey = (agent: string, workerId: string): string =>
  `${agent}.${createHash('sha256').update(workerId).digest('hex').slice(0, 32)}`;

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = <T>(e: KvEntry): T | null => {
  try {
    return JSON.parse(new TextDecoder().decode(e.value)) as T;
  } catch {
    return null;
  }
};

/** A bucket, with its stream and subject prefix. */
interface Bucket {
  kv: KV;
  stream: string;
  prefix: string;
}

/**
 * Creates a bucket, or opens it when another process created it at the same moment: nats-server may refuse the
 * second of two simultaneous creates of one stream ("subjects overlap with an existing stream").
 */
async function createOrOpen(kvm: Kvm, name: string, opts: Parameters<Kvm['create']>[1]): Promise<KV> {
  try {
    return await kvm.create(name, opts);
  } catch (err) {
    return kvm.open(name).catch(() => {
      throw err;
    });
  }
}

const bucket = (name: string, kv: KV): Bucket => ({ kv, stream: `KV_${name}`, prefix: `$KV.${name}.` });

export class KvAgentCatalog implements AgentCatalog {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly owns: boolean,
    private readonly jsm: JetStreamManager,
    private readonly defs: Bucket,
    private readonly workers: Bucket,
  ) {}

  static async create(opts: KvAgentCatalogOptions): Promise<KvAgentCatalog> {
    const { nc, owns } = await connectOwned(opts, 'jobstream-agent-catalog');
    try {
      const kvm = new Kvm(nc);
      const replicas = opts.replicas ?? 1;
      const defsName = opts.agentsBucket ?? AGENTS_BUCKET;
      const workersName = opts.workersBucket ?? AGENT_WORKERS_BUCKET;
      const defs = await createOrOpen(kvm, defsName, { history: 1, replicas });
      const workers = await createOrOpen(kvm, workersName, { history: 1, replicas, ttl: WORKERS_BUCKET_MAX_AGE_MS });
      return new KvAgentCatalog(
        nc,
        owns,
        await jetstreamManager(nc),
        bucket(defsName, defs),
        bucket(workersName, workers),
      );
    } catch (err) {
      if (owns) await nc.close().catch(() => {});
      throw err;
    }
  }

  async announce(workerId: string, agents: readonly AgentDefinition[], ttlMs: number): Promise<void> {
    const announced_at = new Date().toISOString();
    const expires_at = Date.now() + ttlMs;
    await this.guard('announce', async () => {
      for (const a of agents) {
        const def = { name: a.name, description: a.description, input_schema: a.input_schema };
        const was = await this.defs.kv.get(a.name);
        const old = was?.operation === 'PUT' ? parse<AgentDefinition>(was) : null;
        const same =
          old !== null &&
          JSON.stringify({ name: old.name, description: old.description, input_schema: old.input_schema }) ===
            JSON.stringify(def);
        // an unchanged definition is not rewritten (each worker announces every few seconds)
        if (!same) await this.defs.kv.put(a.name, json({ ...def, announced_at }));
        await this.workers.kv.put(workerKey(a.name, workerId), json({ worker_id: workerId, expires_at }));
      }
    });
  }

  async withdraw(workerId: string, names: readonly string[]): Promise<void> {
    await this.guard('withdraw', async () => {
      for (const n of names) await this.workers.kv.delete(workerKey(n, workerId));
    });
  }

  async get(name: string): Promise<AgentEntry | null> {
    return this.guard('get', async () => {
      const e = await this.defs.kv.get(name);
      const def = e && e.operation === 'PUT' ? parse<AgentEntry>(e) : null;
      if (!def) return null;
      const live = await this.liveWorkers(`${name}.*`);
      return { ...def, workers: live.get(name)?.size ?? 0 };
    });
  }

  async list(): Promise<AgentEntry[]> {
    return this.guard('list', async () => {
      const defs = await this.current(this.defs, '>');
      const live = await this.liveWorkers('>');
      return defs
        .map((e) => parse<AgentEntry>(e))
        .filter((d): d is AgentEntry => d !== null)
        .map((d) => ({ ...d, workers: live.get(d.name)?.size ?? 0 }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  async forget(name: string): Promise<void> {
    await this.guard('forget', () => this.defs.kv.purge(name));
  }

  async close(): Promise<void> {
    if (this.owns && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  /** agent → live worker ids, from the entries under `filter`. */
  private async liveWorkers(filter: string): Promise<Map<string, Set<string>>> {
    const now = Date.now();
    const out = new Map<string, Set<string>>();
    for (const e of await this.current(this.workers, filter)) {
      const v = parse<{ worker_id: string; expires_at: number }>(e);
      if (!v || !(v.expires_at > now)) continue;
      const agent = e.key.slice(0, e.key.lastIndexOf('.'));
      const set = out.get(agent) ?? new Set<string>();
      set.add(v.worker_id);
      out.set(agent, set);
    }
    return out;
  }

  /** The current (non-deleted) entries of bucket `b` under `key` (see the header). */
  private async current(b: Bucket, key: string): Promise<KvEntry[]> {
    const info = await this.jsm.streams.info(b.stream, { subjects_filter: `${b.prefix}${key}` });
    const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(b.prefix.length));
    const entries = await Promise.all(keys.map((k) => b.kv.get(k)));
    return entries.filter((e): e is KvEntry => e?.operation === 'PUT');
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new CatalogUnavailableError(`agent catalogue unavailable (${what}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
