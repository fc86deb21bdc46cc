/**
 * Reads of one job's events from the events stream: single events by direct get, short reads as a walk of direct
 * gets, long reads and replays from a short-lived lean ordered consumer (lean-ordered-reader.ts).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import { isJsNotFound } from '@jobstream/nats';
import type { EventPosition } from '@jobstream/contracts';
import { EventLogUnavailableError, eventSize, type EventReader, type LoggedEvent } from './event-log.port.js';
import type { DirectQuery, JetStreamDirectGet } from './jetstream-direct-get.js';
import { parseStored, unavailable } from './jetstream-event-stream.js';
import { LeanOrderedReader } from './lean-ordered-reader.js';
import type { StoredEvent } from './stored-event.js';

const READ_IDLE_MS = 5_000;
/** Reads of at most this many events use direct gets instead of a consumer. */
const DIRECT_READ_MAX = 64;

export class JetStreamEventReads {
  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    /** The partition's subject prefix: a job's subject is `<prefix>.<jobId>`. */
    private readonly subjectPrefix: string,
    private readonly getter: JetStreamDirectGet,
    private readonly assertOpen: () => void,
  ) {}

  subject(jobId: string): string {
    return `${this.subjectPrefix}.${jobId}`;
  }

  async last(jobId: string): Promise<StoredEvent | null> {
    this.assertOpen();
    return this.directGet({ last_by_subj: this.subject(jobId) }, 'last');
  }

  async first(jobId: string): Promise<StoredEvent | null> {
    this.assertOpen();
    return this.directGet({ next_by_subj: this.subject(jobId), seq: 1 }, 'first');
  }

  /** The event at stream sequence `seq` (the answer to a duplicate append). */
  async getBySeq(seq: number): Promise<LoggedEvent> {
    const e = await this.directGet({ seq }, 'get');
    if (!e) throw new EventLogUnavailableError(`event at stream sequence ${seq} is gone`);
    return e;
  }

  async read(jobId: string, after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> {
    this.assertOpen();
    const max = Math.max(1, Math.floor(limit));
    const last = await this.last(jobId);
    if (!last || last.seq <= after.seq) return [];
    if (last.pos <= after.pos && after.pos > 0) {
      // The job has events after the cursor's seq at or before its position: a failover rolled the stream back
      // and reused stream sequences. Find them by seq from the subject's start (rare; never skips them).
      return this.read(jobId, { seq: after.seq, pos: 0 }, limit, maxBytes);
    }
    const wanted = Math.min(max, last.seq - after.seq);
    // A short read (a client catching up on a live job) walks the subject with direct gets: no consumer is
    // created on the server. Long reads use one short-lived lean ordered consumer.
    if (wanted <= DIRECT_READ_MAX) return this.readDirect(jobId, after, wanted, last, maxBytes);
    const consumer = await this.openConsumer(jobId, after);
    try {
      return (await this.pullPage(consumer, after, max, last.pos, maxBytes)).events;
    } finally {
      consumer.close();
    }
  }

  /**
   * A reader for one long replay: pages that follow each other are read from ONE lean ordered consumer, opened at
   * the first page that is too long for direct gets and kept (not read = flow-controlled by the server) until the
   * replay reaches the job's last event as it was when the consumer started, the caller reads elsewhere, or `close`
   * (which deletes it). A read that does not continue the previous one starts over like {@link read}.
   */
  openReader(jobId: string): EventReader {
    let consumer: LeanOrderedReader | null = null;
    /** Seq of the last event taken from the consumer (the next one follows it). */
    let at = 0;
    /** Stream sequence of the job's last event when the consumer started: the end of this replay. */
    let endPos = 0;
    /** Counts `close`s: a consumer whose creation a `close` overtook is closed at once. */
    let closes = 0;
    const close = () => {
      closes++;
      consumer?.close();
      consumer = null;
    };
    const read = async (after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> => {
      this.assertOpen();
      const max = Math.max(1, Math.floor(limit));
      if (!consumer || after.seq < at) {
        close();
        const epoch = closes;
        const last = await this.last(jobId);
        if (!last || last.seq <= after.seq) return [];
        if ((last.pos <= after.pos && after.pos > 0) || Math.min(max, last.seq - after.seq) <= DIRECT_READ_MAX) {
          return this.read(jobId, after, limit, maxBytes); // rare rollback case, or a short tail (direct gets)
        }
        const opened = await this.openConsumer(jobId, after);
        if (epoch !== closes) {
          opened.close(); // the caller left meanwhile
          return [];
        }
        consumer = opened;
        endPos = last.pos;
        at = after.seq;
      }
      const page = await this.pullPage(consumer, after, max, endPos, maxBytes).catch((err: unknown) => {
        close();
        throw err;
      });
      if (page.lastSeq > 0) at = page.lastSeq;
      if (page.ended) close();
      return page.events;
    };
    return { read, close };
  }

  private async openConsumer(jobId: string, after: EventPosition): Promise<LeanOrderedReader> {
    try {
      return await LeanOrderedReader.open(this.nc, this.jsm, {
        stream: this.stream,
        subject: this.subject(jobId),
        startSeq: after.pos > 0 ? after.pos + 1 : 1,
        idleMs: READ_IDLE_MS,
      });
    } catch (err) {
      throw unavailable(err, 'read');
    }
  }

  /**
   * Up to `max` events after `after.seq` from the consumer; `ended` once the job's last event (stream sequence
   * `endPos`, or `pending` 0) was taken, or nothing is left (events expired meanwhile).
   */
  private async pullPage(
    consumer: LeanOrderedReader,
    after: EventPosition,
    max: number,
    endPos: number,
    maxBytes = Infinity,
  ): Promise<{ events: LoggedEvent[]; ended: boolean; lastSeq: number }> {
    const events: LoggedEvent[] = [];
    let ended = false;
    let lastSeq = 0;
    let bytes = 0;
    try {
      const drained = await consumer.pull((data, sseq, pending) => {
        const e = parseStored(data, sseq);
        lastSeq = e.seq;
        // A position of 0 with a seq (an anchor without a position) is honored by seq.
        if (lastSeq > after.seq) {
          events.push(e);
          bytes += eventSize(e);
        }
        if (pending === 0 || sseq >= endPos) {
          ended = true;
          return false;
        }
        return events.length < max && bytes < maxBytes; // the rest stays queued in the consumer for the next page
      });
      return { events, ended: ended || drained, lastSeq };
    } catch (err) {
      throw unavailable(err, 'read');
    }
  }

  private async directGet(query: DirectQuery, what: string): Promise<StoredEvent | null> {
    try {
      return await this.getter.get(query);
    } catch (err) {
      if (isJsNotFound(err)) return null;
      throw unavailable(err, what);
    }
  }

  /** Up to `wanted` events after `after`, one `next_by_subj` direct get each, ending with `last` at the latest. */
  private async readDirect(
    jobId: string,
    after: EventPosition,
    wanted: number,
    last: StoredEvent,
    maxBytes = Infinity,
  ): Promise<LoggedEvent[]> {
    const subject = this.subject(jobId);
    const out: LoggedEvent[] = [];
    let from = after.pos + 1;
    let bytes = 0;
    while (out.length < wanted && bytes < maxBytes && from <= last.pos) {
      const e = await this.directGet({ next_by_subj: subject, seq: from }, 'read');
      if (!e) break;
      if (e.seq > after.seq) {
        out.push(e);
        bytes += eventSize(e);
      }
      from = e.pos + 1;
    }
    return out;
  }
}
