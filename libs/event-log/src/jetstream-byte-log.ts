/**
 * The production {@link ByteLog}: one JetStream stream ({@link DS_STREAM}, subjects `jobstream.ds.<key>`), the
 * stream sequence as `pos`; compare-and-append publishes, direct-get reads, core NATS wake-ups. Details: docs/internals.md.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { isJsNotFound, jsApiError } from '@jobstream/nats';
import {
  ByteLogConflictError,
  type ByteAppendOptions,
  type ByteAppendResult,
  type ByteFrame,
  type ByteLog,
  type ByteLogWatch,
} from './byte-log.port.js';
import { EventLogUnavailableError } from './event-log.port.js';

export const DS_STREAM = 'JOBSTREAM_DS';
export const DS_SUBJECT_PREFIX = 'jobstream.ds';
export const DS_WAKE_PREFIX = 'jobstream.dswake';
const WRONG_LAST_SEQUENCE = 10071;

export interface JetStreamByteLogOptions {
  nc: NatsConnection;
  replicas?: number;
  /** Largest frame (bytes): the stream's `max_msg_size`. */
  maxFrameBytes?: number;
  /** Bound of the whole stream (bytes). */
  maxBytes?: number;
  timeoutMs?: number;
}

const apiCode = (err: unknown): number | undefined => jsApiError(err)?.err_code;
const notFound = (err: unknown) => isJsNotFound(err);

function unavailable(err: unknown, what: string): Error {
  if (err instanceof ByteLogConflictError) return err;
  return new EventLogUnavailableError(`durable streams log ${what}: ${String(err)}`, { cause: err });
}

export class JetStreamByteLog implements ByteLog {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly timeoutMs: number,
  ) {}

  static async create(opts: JetStreamByteLogOptions): Promise<JetStreamByteLog> {
    const jsm = await jetstreamManager(opts.nc, { timeout: opts.timeoutMs ?? 5_000 });
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const log = new JetStreamByteLog(opts.nc, jsm, jetstream(opts.nc, { timeout: timeoutMs }), timeoutMs);
    const want: Partial<StreamConfig> & { name: string } = {
      name: DS_STREAM,
      subjects: [`${DS_SUBJECT_PREFIX}.>`],
      storage: 'file' as StreamConfig['storage'],
      retention: 'limits' as StreamConfig['retention'],
      // never drop an acknowledged frame to make room: refuse the append instead
      discard: 'new' as StreamConfig['discard'],
      max_bytes: opts.maxBytes ?? 8 * 1024 ** 3,
      max_msg_size: opts.maxFrameBytes ?? 1024 ** 2,
      duplicate_window: 120_000 * 1_000_000,
      allow_direct: true,
      num_replicas: opts.replicas ?? 1,
    };
    try {
      try {
        const info = await jsm.streams.info(DS_STREAM);
        await jsm.streams.update(DS_STREAM, { ...info.config, ...want } as StreamConfig);
      } catch (err) {
        if (!notFound(err)) throw err;
        await jsm.streams.add(want).catch(async (e: unknown) => {
          // another process created it meanwhile
          if (
            !(await jsm.streams.info(DS_STREAM).then(
              () => true,
              () => false,
            ))
          )
            throw e;
        });
      }
    } catch (err) {
      throw unavailable(err, 'stream setup');
    }
    return log;
  }

  private subject(key: string): string {
    return `${DS_SUBJECT_PREFIX}.${key}`;
  }

  async append(key: string, data: Uint8Array, opts: ByteAppendOptions = {}): Promise<ByteAppendResult> {
    try {
      const ack = await this.js.publish(this.subject(key), data, {
        ...(opts.msgId !== undefined ? { msgID: `${key}:${opts.msgId}` } : {}),
        ...(opts.expectedLastPos !== undefined ? { expect: { lastSubjectSequence: opts.expectedLastPos } } : {}),
      });
      return { pos: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (apiCode(err) === WRONG_LAST_SEQUENCE) throw new ByteLogConflictError(key, opts.expectedLastPos ?? 0);
      throw unavailable(err, 'append');
    }
  }

  /** A direct get (any replica answers): the frame, or null when there is none. */
  private async direct(query: Record<string, unknown>): Promise<ByteFrame | null> {
    let m: Msg;
    try {
      m = await this.nc.request(`$JS.API.DIRECT.GET.${DS_STREAM}`, JSON.stringify(query), { timeout: this.timeoutMs });
    } catch (err) {
      throw unavailable(err, 'read');
    }
    const status = m.headers?.code ?? 0;
    if (status === 404) return null;
    if (status >= 400) throw unavailable(new Error(`direct get: ${status} ${m.headers?.description ?? ''}`), 'read');
    const pos = Number(m.headers?.get('Nats-Sequence'));
    if (!Number.isSafeInteger(pos) || pos < 1) throw unavailable(new Error('direct get without Nats-Sequence'), 'read');
    return { pos, data: m.data };
  }

  async lastPos(key: string): Promise<number> {
    return (await this.direct({ last_by_subj: this.subject(key) }))?.pos ?? 0;
  }

  async read(key: string, after: number, maxFrames: number, maxBytes: number): Promise<ByteFrame[]> {
    const last = await this.lastPos(key);
    const out: ByteFrame[] = [];
    let bytes = 0;
    let next = after + 1;
    while (next <= last && out.length < maxFrames && bytes < maxBytes) {
      const f = await this.direct({ next_by_subj: this.subject(key), seq: next });
      if (!f || f.pos > last) break;
      out.push(f);
      bytes += f.data.length;
      next = f.pos + 1;
    }
    return out;
  }

  async watch(key: string, listener: () => void): Promise<ByteLogWatch> {
    const sub = this.nc.subscribe(`${DS_WAKE_PREFIX}.${key}`, { callback: () => listener() });
    try {
      await this.nc.flush();
    } catch (err) {
      sub.unsubscribe();
      throw unavailable(err, 'watch');
    }
    return { stop: () => sub.unsubscribe() };
  }

  notify(key: string): void {
    try {
      this.nc.publish(`${DS_WAKE_PREFIX}.${key}`);
    } catch {
      // a closed connection: readers poll
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.jsm.streams.purge(DS_STREAM, { filter: this.subject(key) });
    } catch (err) {
      throw unavailable(err, 'delete');
    }
  }

  close(): Promise<void> {
    // the connection belongs to the engine
    return Promise.resolve();
  }
}
