/**
 * The partitions of the JetStream event log: which stream holds a job (the hash of its id for a new job; found by
 * probing, then remembered, for a job created under another partition count), and leaders spread over the nodes.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { JetStreamCapacity } from './jetstream-capacity.js';
import type { JetStreamDirectGet } from './jetstream-direct-get.js';
import type { JetStreamEventReads } from './jetstream-event-reads.js';
import type { EventLogLogger } from './jetstream-event-stream.js';
import { partitionOf, type EventPartition } from './partitions.js';
import type { StoredEvent } from './stored-event.js';

/** One partition's stream and its per-stream machinery. */
export interface Partition {
  part: EventPartition;
  getter: JetStreamDirectGet;
  capacity: JetStreamCapacity;
  reads: JetStreamEventReads;
}

/** How often a job found in no known stream makes the router look for partition streams made since. */
const DISCOVER_EVERY_MS = 2_000;

export class PartitionRouter {
  /** Per job, the partition its events were found in (LRU). */
  private readonly located = new Map<string, Partition>();
  private readonly known: Partition[];
  private discoveredAt = 0;

  /**
   * @param active the partitions new jobs go to (index 0..N-1)
   * @param all those and the streams of partitions beyond N still present (a lowered N): probed, never written new
   * @param discover partition streams that exist now and are not in `all` (made by a process with a higher N)
   */
  constructor(
    readonly active: readonly Partition[],
    all: readonly Partition[],
    private readonly cacheSize: number,
    private readonly discover?: (known: readonly Partition[]) => Promise<Partition[]>,
  ) {
    this.known = [...all];
  }

  /** Every partition stream known: the active ones first. */
  get all(): readonly Partition[] {
    return this.known;
  }

  /** The job's partition as known now: where its events were found, else where a new job goes. */
  route(jobId: string): Partition {
    return this.located.get(jobId) ?? this.active[partitionOf(jobId, this.active.length)]!;
  }

  /** The job's last event, from its partition: the hashed one first, then the others (a job made under another N). */
  async last(jobId: string): Promise<StoredEvent | null> {
    const found = this.located.get(jobId);
    if (found) return found.reads.last(jobId);
    const first = this.route(jobId);
    const hit = await first.reads.last(jobId);
    if (hit) return this.remember(jobId, first, hit);
    for (const p of this.known) {
      if (p === first) continue;
      const e = await p.reads.last(jobId);
      if (e) return this.remember(jobId, p, e);
    }
    // nowhere: maybe in a stream a process with a higher N made since this one started (a rollout of a new N)
    for (const p of await this.discoverNow()) {
      const e = await p.reads.last(jobId);
      if (e) return this.remember(jobId, p, e);
    }
    return null;
  }

  private async discoverNow(): Promise<Partition[]> {
    if (!this.discover || Date.now() - this.discoveredAt < DISCOVER_EVERY_MS) return [];
    this.discoveredAt = Date.now();
    const fresh = await this.discover(this.known).catch(() => []);
    this.known.push(...fresh);
    return fresh;
  }

  /** The job's partition, found as {@link last} finds it (the hashed one for a job without events). */
  async locate(jobId: string): Promise<Partition> {
    // one stream: no lookup (a job in a stream made since is found by `last`, which the API asks first)
    if (!this.located.has(jobId) && this.known.length > 1) await this.last(jobId);
    return this.route(jobId);
  }

  forget(jobId: string): void {
    this.located.delete(jobId);
  }

  clear(): void {
    this.located.clear();
  }

  private remember(jobId: string, p: Partition, e: StoredEvent): StoredEvent {
    this.located.delete(jobId);
    this.located.set(jobId, p);
    while (this.located.size > this.cacheSize) this.located.delete(this.located.keys().next().value!);
    return e;
  }
}

/**
 * Steps leaders down until the streams' leaders are on different nodes (as far as there are nodes), for at most
 * `rounds` elections; true when spread. nats-server 2.9 places a stream's leader itself and its stepdown picks the
 * next at random, so this converges in a few rounds; several processes doing it at once only add rounds.
 */
export async function spreadLeaders(
  nc: NatsConnection,
  jsm: JetStreamManager,
  streams: readonly string[],
  logger?: EventLogLogger,
  rounds = 12,
): Promise<boolean> {
  for (let round = 0; round <= rounds; round++) {
    const infos = await Promise.all(streams.map((s) => jsm.streams.info(s)));
    const nodes = new Set<string>();
    const byLeader = new Map<string, string[]>();
    let leaderless = false;
    for (const i of infos) {
      const leader = i.cluster?.leader;
      if (!leader) leaderless = true;
      else byLeader.set(leader, [...(byLeader.get(leader) ?? []), i.config.name]);
      if (leader) nodes.add(leader);
      for (const r of i.cluster?.replicas ?? []) nodes.add(r.name);
    }
    const spread = byLeader.size >= Math.min(streams.length, nodes.size);
    if (spread && !leaderless) return true;
    if (round === rounds) break;
    if (!leaderless) {
      const crowded = [...byLeader.values()].find((names) => names.length > 1)!;
      const victim = crowded[crowded.length - 1]!;
      await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${victim}`, undefined, { timeout: 5_000 }).catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 250 * Math.min(4, round + 1)));
  }
  logger?.warn(`event stream leaders could not be spread over different nodes: ${streams.join(', ')}`);
  return false;
}
