/**
 * The production event log: one JetStream stream, one subject per job (`jobstream.events.<jobId>`), `pos` = the
 * stream sequence everywhere. Set-up in jetstream-event-stream.ts, appends in jetstream-event-append.ts, reads in
 * jetstream-event-reads.ts, live delivery in jetstream-event-live.ts. Design and server constraints: docs/internals.md.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connectNats } from '@jobstream/nats';
import { EVENTS_STREAM, eventsSubject, type EventPosition } from '@jobstream/contracts';
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
import {
  ensureEventStream,
  eventStreamConfig,
  unavailable,
  type EventStreamConfig,
  type JetStreamEventLogOptions,
} from './jetstream-event-stream.js';
import { JetStreamPublisher } from './jetstream-publisher.js';
import type { StoredEvent } from './stored-event.js';

export {
  LIVE_SUBJECT_PREFIX,
  liveSubject,
  streamDiff,
  type EventLogLogger,
  type JetStreamEventLogOptions,
} from './jetstream-event-stream.js';

export class JetStreamEventLog implements EventLog, EventLogReaders, EventLogCapacity {
  private readonly publisher: JetStreamPublisher;
  private readonly getter: JetStreamDirectGet;
  private readonly capacity: JetStreamCapacity;
  private readonly reads: JetStreamEventReads;
  private readonly appender: JetStreamAppender;
  private readonly live: JetStreamEventLive;
  private readonly stream: string;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly ownsConnection: boolean,
    private readonly opts: JetStreamEventLogOptions,
  ) {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const assertOpen = () => this.assertOpen();
    this.stream = opts.stream ?? EVENTS_STREAM;
    const leaderReads = opts.leaderReads ?? (opts.replicas ?? 1) > 1;
    this.publisher = new JetStreamPublisher(nc, timeoutMs);
    this.getter = new JetStreamDirectGet(nc, this.stream, timeoutMs, leaderReads);
    this.capacity = new JetStreamCapacity(jsm, {
      stream: this.stream,
      maxBytes: opts.maxBytes ?? 1024 ** 3,
      ...(opts.reserveBytes !== undefined ? { reserveBytes: opts.reserveBytes } : {}),
      ...(opts.capacityPollMs !== undefined ? { pollMs: opts.capacityPollMs } : {}),
    });
    this.reads = new JetStreamEventReads(nc, jsm, this.stream, this.getter, assertOpen);
    this.appender = new JetStreamAppender(
      this.publisher,
      this.capacity,
      { last: (jobId) => this.last(jobId), getBySeq: (seq) => this.reads.getBySeq(seq) },
      opts.cacheSize ?? 10_000,
      assertOpen,
      opts.logger,
    );
    this.live = new JetStreamEventLive(nc, timeoutMs, opts.logger);
  }

  /** Connects (unless given `nc`), creates or updates the stream, and returns the log. */
  static async create(opts: JetStreamEventLogOptions): Promise<JetStreamEventLog> {
    if (!opts.nc && !opts.servers) throw new TypeError('JetStreamEventLog needs `servers` or `nc`');
    if (!(opts.retentionMs > 0)) throw new RangeError('retentionMs must be > 0');
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
      const log = new JetStreamEventLog(nc, jsm, owns, opts);
      try {
        await ensureEventStream(jsm, log.streamConfig(), opts.logger);
        await log.capacity.refresh();
      } catch (err) {
        log.capacity.close();
        throw err;
      }
      return log;
    } catch (err) {
      if (owns) await nc.close().catch(() => {});
      throw unavailable(err, 'stream setup');
    }
  }

  /** The stream configuration this driver wants (exported for the ops docs and tests). */
  streamConfig(): EventStreamConfig {
    return eventStreamConfig(this.stream, this.opts);
  }

  append(jobId: string, input: AppendInput): Promise<LoggedEvent> {
    return this.appender.append(jobId, input);
  }

  /** Room for a new job: the stream is below its size minus twice the reserve (see jetstream-capacity.ts). */
  hasRoom(): boolean {
    return this.capacity.hasRoom();
  }

  usage(): EventLogUsage {
    return this.capacity.usage();
  }

  read(jobId: string, after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> {
    return this.reads.read(jobId, after, limit, maxBytes);
  }

  openReader(jobId: string): EventReader {
    return this.reads.openReader(jobId);
  }

  last(jobId: string): Promise<StoredEvent | null> {
    return this.reads.last(jobId);
  }

  first(jobId: string): Promise<StoredEvent | null> {
    return this.reads.first(jobId);
  }

  async subscribe(jobId: string, listener: EventListener): Promise<LiveSubscription> {
    this.assertOpen();
    return this.live.subscribe(jobId, listener);
  }

  async delete(jobId: string): Promise<void> {
    this.assertOpen();
    try {
      await this.jsm.streams.purge(this.stream, { filter: eventsSubject(jobId) });
    } catch (err) {
      throw unavailable(err, 'delete');
    } finally {
      this.appender.forget(jobId);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.live.close();
    this.appender.clear();
    if (this.ownsConnection && !this.nc.isClosed()) {
      await this.nc.drain().catch(() => this.nc.close());
    }
    this.publisher.close();
    this.getter.close();
    this.capacity.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new EventLogUnavailableError('event log is closed');
  }
}
