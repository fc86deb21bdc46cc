/**
 * In-process fan-out: ONE live subscription to the event log per active job per process, shared by every
 * client of the job, reference-counted (the last client to leave tears it down).
 *
 * Each event is repaired into dense seq order once per job (a {@link Sequencer} backfills broker gaps) and mapped
 * once per job by `prepare` (e.g. into a pre-built SSE frame) before it is handed to every listener.
 */
import type { EventLog, LiveSubscription, LoggedEvent } from './event-log.port.js';
import { Sequencer } from './sequencer.js';

export interface HubSink<T> {
  next(e: LoggedEvent, prepared: T): void;
  /** The job's live feed failed (the log could not be read to repair a gap); the sink is already removed. */
  error(err: unknown): void;
}

interface Entry<T> {
  sinks: Set<HubSink<T>>;
  ready: Promise<void>;
  sub: LiveSubscription | null;
  sequencer: Sequencer;
}

export class LiveHub<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly log: EventLog,
    private readonly prepare: (e: LoggedEvent) => T,
  ) {}

  /** Adds a sink to the job's feed; resolves (with the way out) once live delivery is active. */
  async subscribe(jobId: string, sink: HubSink<T>): Promise<() => void> {
    let entry = this.entries.get(jobId);
    if (!entry) entry = this.open(jobId);
    entry.sinks.add(sink);
    const leave = () => this.leave(jobId, entry!, sink);
    try {
      await entry.ready;
    } catch (err) {
      leave();
      throw err;
    }
    return leave;
  }

  /** Jobs with a live subscription and the sinks attached to them. */
  stats(): { jobs: number; sinks: number } {
    let sinks = 0;
    for (const e of this.entries.values()) sinks += e.sinks.size;
    return { jobs: this.entries.size, sinks };
  }

  /** Ends every feed (shutdown). */
  closeAll(err: unknown): void {
    for (const [jobId, entry] of this.entries) this.fail(jobId, entry, err);
  }

  private open(jobId: string): Entry<T> {
    const entry: Entry<T> = {
      sinks: new Set(),
      sub: null,
      ready: Promise.resolve(),
      sequencer: new Sequencer({
        start: null,
        fetch: (after, limit) => this.log.read(jobId, after, limit),
        emit: (e) => {
          const prepared = this.prepare(e);
          for (const s of entry.sinks) s.next(e, prepared);
        },
        onError: (err) => this.fail(jobId, entry, err),
        onLost: (last, first) =>
          this.fail(jobId, entry, new Error(`events after seq ${last.seq} expired before seq ${first.event.seq}`)),
      }),
    };
    entry.ready = this.log.subscribe(jobId, (e) => entry.sequencer.push(e)).then(
      (sub) => {
        entry.sub = sub;
        if (entry.sinks.size === 0 || this.entries.get(jobId) !== entry) this.teardown(jobId, entry);
      },
      (err: unknown) => {
        if (this.entries.get(jobId) === entry) this.entries.delete(jobId);
        throw err;
      },
    );
    this.entries.set(jobId, entry);
    return entry;
  }

  private leave(jobId: string, entry: Entry<T>, sink: HubSink<T>): void {
    if (!entry.sinks.delete(sink)) return;
    if (entry.sinks.size === 0) this.teardown(jobId, entry);
  }

  private teardown(jobId: string, entry: Entry<T>): void {
    entry.sequencer.stop();
    if (this.entries.get(jobId) === entry) this.entries.delete(jobId);
    if (entry.sub) {
      entry.sub.unsubscribe();
      entry.sub = null;
    }
  }

  private fail(jobId: string, entry: Entry<T>, err: unknown): void {
    const sinks = [...entry.sinks];
    entry.sinks.clear();
    this.teardown(jobId, entry);
    for (const s of sinks) s.error(err);
  }
}
