/**
 * The production event log: JetStream streams (one, or `partitions` of them: partitions.ts), one subject per job
 * (`jobstream.events.<jobId>` in partition 0), `pos` = the stream sequence of the job's stream everywhere. Set-up in jetstream-event-stream.ts, appends in jetstream-event-append.ts, reads in
 * jetstream-event-reads.ts, live delivery in jetstream-event-live.ts. Design and server constraints: docs/internals.md.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connectNats } from '@jobstream/nats';
import { EVENTS_STREAM, type EventPosition } from '@jobstream/contracts';
import {
  EventLogUnavailableError,
  type AppendInput,
  type EventListener,
  type EventLog,
  type EventLogCapacity,
  type EventLogReaders,
  type EventLogUsage,
  type EventReader,
  type LiveSubscription,
  type LoggedEvent,
} from './event-log.port.js';
import { JetStreamCapacity } from './jetstream-capacity.js';
import { JetStreamDirectGet } from './jetstream-direct-get.js';
import { JetStreamAppender } from './jetstream-event-append.js';
import { JetStreamEventLive } from './jetstream-event-live.js';
import { JetStreamEventReads } from './jetstream-event-reads.js';
import { PartitionRouter, spreadLeaders, type Partition } from './jetstream-event-partitions.js';
import {
  ensureEventStream,
  eventStreamConfig,
  partitionMaxBytes,
  unavailable,
  type EventStreamConfig,
  type JetStreamEventLogOptions,
} from './jetstream-event-stream.js';
import { JetStreamPublisher } from './jetstream-publisher.js';
import { assertPartitionCount, eventPartition, partitionIndexOf, type EventPartition } from './partitions.js';
import type { StoredEvent } from './stored-event.js';

export {
  LIVE_SUBJECT_PREFIX,
  liveSubject,
  streamDiff,
  type EventLogLogger,
  type JetStreamEventLogOptions,
} from './jetstream-event-stream.js';

/** The partition indexes of the event streams that exist, ascending. */
async function listPartitions(jsm: JetStreamManager, base: string): Promise<number[]> {
  const found: number[] = [];
  for await (const name of jsm.streams.names()) {
    const i = partitionIndexOf(name, base);
    if (i !== null) found.push(i);
  }
  return found.sort((a, b) => a - b);
}

export class JetStreamEventLog implements EventLog, EventLogReaders, EventLogCapacity {
  private readonly publisher: JetStreamPublisher;
  private readonly appender: JetStreamAppender;
  private readonly live: JetStreamEventLive;
  private readonly router: PartitionRouter;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly ownsConnection: boolean,
    private readonly opts: JetStreamEventLogOptions,
    parts: { active: EventPartition[]; all: EventPartition[] },
  ) {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const assertOpen = () => this.assertOpen();
    const leaderReads = opts.leaderReads ?? (opts.replicas ?? 1) > 1;
    this.publisher = new JetStreamPublisher(nc, timeoutMs);
    const made = parts.all.map((part) => this.partition(part, leaderReads, assertOpen));
    const cacheSize = opts.cacheSize ?? 10_000;
    const base = opts.stream ?? EVENTS_STREAM;
    this.router = new PartitionRouter(made.slice(0, parts.active.length), made, cacheSize, async (known) => {
      const have = new Set(known.map((p) => p.part.index));
      const fresh = (await listPartitions(jsm, base)).filter((i) => !have.has(i));
      return fresh.map((i) => this.partition(eventPartition(i, base), leaderReads, assertOpen));
    });
    this.appender = new JetStreamAppender(
      this.publisher,
      {
        route: (jobId) => {
          const p = this.router.route(jobId);
          return { subject: p.reads.subject(jobId), capacity: p.capacity, getBySeq: (seq) => p.reads.getBySeq(seq) };
        },
        last: (jobId) => this.last(jobId),
      },
      cacheSize,
      assertOpen,
      opts.logger,
    );
    this.live = new JetStreamEventLive(nc, timeoutMs, opts.logger);
  }

  /** One partition's stream and machinery (its capacity is read by the caller or on first use). */
  private partition(part: EventPartition, leaderReads: boolean, assertOpen: () => void): Partition {
    const timeoutMs = this.opts.timeoutMs ?? 5_000;
    const getter = new JetStreamDirectGet(this.nc, part.stream, timeoutMs, leaderReads);
    return {
      part,
      getter,
      capacity: new JetStreamCapacity(this.jsm, {
        stream: part.stream,
        maxBytes: partitionMaxBytes(this.opts),
        ...(this.opts.reserveBytes !== undefined ? { reserveBytes: this.opts.reserveBytes } : {}),
        ...(this.opts.capacityPollMs !== undefined ? { pollMs: this.opts.capacityPollMs } : {}),
      }),
      reads: new JetStreamEventReads(this.nc, this.jsm, part.stream, part.subjectPrefix, getter, assertOpen),
    };
  }

  /** Connects (unless given `nc`), creates or updates the stream, and returns the log. */
  static async create(opts: JetStreamEventLogOptions): Promise<JetStreamEventLog> {
    if (!opts.nc && !opts.servers) throw new TypeError('JetStreamEventLog needs `servers` or `nc`');
    if (!(opts.retentionMs > 0)) throw new RangeError('retentionMs must be > 0');
    const n = assertPartitionCount(opts.partitions ?? 1);
    const owns = !opts.nc;
    let nc: NatsConnection;
    try {
      nc =
        opts.nc ??
        (await connectNats({ servers: opts.servers!, name: 'jobstream-event-log', timeoutMs: opts.timeoutMs }));
    } catch (err) {
      throw unavailable(err, 'connect');
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: opts.timeoutMs ?? 5_000 });
      const base = opts.stream ?? EVENTS_STREAM;
      const active = Array.from({ length: n }, (_, i) => eventPartition(i, base));
      for (const part of active) await ensureEventStream(jsm, eventStreamConfig(part, opts), opts.logger);
      // streams of partitions beyond N (N was lowered): their jobs stay readable until their events expire
      const extra = (await listPartitions(jsm, base)).filter((i) => i >= n).map((i) => eventPartition(i, base));
      const log = new JetStreamEventLog(nc, jsm, owns, opts, { active, all: [...active, ...extra] });
      try {
        await Promise.all(log.router.all.map((p) => p.capacity.refresh()));
        if (n > 1 && (opts.replicas ?? 1) > 1 && opts.spreadLeaders !== false) {
          await spreadLeaders(
            nc,
            jsm,
            active.map((p) => p.stream),
            opts.logger,
          );
        }
      } catch (err) {
        for (const p of log.router.all) p.capacity.close();
        throw err;
      }
      return log;
    } catch (err) {
      if (owns) await nc.close().catch(() => {});
      throw unavailable(err, 'stream setup');
    }
  }

  /** The configuration of the first stream (partition 0; exported for the ops docs and tests). */
  streamConfig(): EventStreamConfig {
    return eventStreamConfig(this.router.all[0]!.part, this.opts);
  }

  /** The partitions: those new jobs go to, then the streams of partitions beyond N still present. */
  partitions(): { active: EventPartition[]; all: EventPartition[] } {
    return { active: this.router.active.map((p) => p.part), all: this.router.all.map((p) => p.part) };
  }

  /** The stream holding the job's events (the one a new job goes to when it has none). */
  async streamOf(jobId: string): Promise<string> {
    this.assertOpen();
    return (await this.router.locate(jobId)).part.stream;
  }

  append(jobId: string, input: AppendInput): Promise<LoggedEvent> {
    return this.appender.append(jobId, input);
  }

  /** Room for a new job: the stream is below its size minus twice the reserve (see jetstream-capacity.ts). */
  hasRoom(): boolean {
    return this.router.active.every((p) => p.capacity.hasRoom());
  }

  /** Over all partitions. */
  usage(): EventLogUsage {
    const all = this.router.all.map((p) => p.capacity.usage());
    return all
      .slice(1)
      .reduce((t, u) => ({ ...t, bytes: t.bytes + u.bytes, maxBytes: t.maxBytes + u.maxBytes }), all[0]!);
  }

  async read(jobId: string, after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> {
    this.assertOpen();
    return (await this.router.locate(jobId)).reads.read(jobId, after, limit, maxBytes);
  }

  openReader(jobId: string): EventReader {
    let reader: EventReader | null = null;
    let closed = false;
    return {
      read: async (after, limit, maxBytes) => {
        this.assertOpen();
        if (!reader) {
          const p = await this.router.locate(jobId);
          if (closed) return [];
          reader = p.reads.openReader(jobId);
        }
        return reader.read(after, limit, maxBytes);
      },
      close: () => {
        closed = true;
        reader?.close();
      },
    };
  }

  async last(jobId: string): Promise<StoredEvent | null> {
    this.assertOpen();
    return this.router.last(jobId);
  }

  async first(jobId: string): Promise<StoredEvent | null> {
    this.assertOpen();
    return (await this.router.locate(jobId)).reads.first(jobId);
  }

  async subscribe(jobId: string, listener: EventListener): Promise<LiveSubscription> {
    this.assertOpen();
    return this.live.subscribe(jobId, listener);
  }

  async delete(jobId: string): Promise<void> {
    this.assertOpen();
    try {
      // every partition: a job's events are in one of them, and which is not worth a lookup here
      await Promise.all(
        this.router.all.map((p) => this.jsm.streams.purge(p.part.stream, { filter: p.reads.subject(jobId) })),
      );
    } catch (err) {
      throw unavailable(err, 'delete');
    } finally {
      this.appender.forget(jobId);
      this.router.forget(jobId);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.live.close();
    this.appender.clear();
    this.router.clear();
    if (this.ownsConnection && !this.nc.isClosed()) {
      await this.nc.drain().catch(() => this.nc.close());
    }
    this.publisher.close();
    for (const p of this.router.all) {
      p.getter.close();
      p.capacity.close();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new EventLogUnavailableError('event log is closed');
  }
}
