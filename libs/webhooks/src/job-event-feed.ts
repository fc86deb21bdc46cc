/**
 * The JobEventFeed port: the events of EVERY job that webhooks care about (terminal events and `input_required`),
 * observed in the event log itself — so the three places that end a job (runner, API cancel, watchdog) and the
 * interactive feature need no webhook code at all.
 *
 * Contract: `start(handler)` calls `handler` for each such event appended after the feed first started (on the
 * JetStream driver: after its durable consumer was first created, across restarts), **at least once**: an event is
 * acknowledged only after `handler` resolved; a handler that throws gets the event again (after a back-off). The
 * handler must therefore be idempotent (the webhook store's dedup key makes it so). With several API processes
 * each event goes to one of them (one shared durable consumer), redelivered to another if that one dies.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { isJsNotFound, retry, retryDelay, sleep, type RetryOptions, type RetrySchedule } from '@jobstream/nats';
import { EVENTS_STREAM, EVENTS_SUBJECT_WILDCARD, WEBHOOK_EVENT_OF, type JobEvent } from '@jobstream/contracts';
import { MemoryEventLog, type AppendInput, type LoggedEvent } from '@jobstream/event-log';

/** The event as stored, with its log position (so the job's `last_event_id` can be given). */
export type JobEventHandler = (e: LoggedEvent) => Promise<void>;

export interface FeedHandle {
  stop(): Promise<void>;
}

export interface JobEventFeed {
  start(handler: JobEventHandler): Promise<FeedHandle>;
}

/** Is this event one that webhooks are sent for? */
export const isFeedEvent = (e: { type: string }): boolean =>
  WEBHOOK_EVENT_OF[e.type as keyof typeof WEBHOOK_EVENT_OF] !== undefined;

/**
 * The embedded engine's event log with a tap: every stored event of interest is handed to the feed's handler
 * (in process; a failing handler is retried a few times, then logged — the embedded engine has no restarts to
 * survive).
 */
export class ObservedMemoryEventLog extends MemoryEventLog implements JobEventFeed {
  private handler: JobEventHandler | null = null;
  private readonly inflight = new Set<Promise<void>>();
  onHandlerError: (err: unknown, e: LoggedEvent) => void = () => {};

  override async append(jobId: string, input: AppendInput): Promise<LoggedEvent> {
    const logged = await super.append(jobId, input);
    const h = this.handler;
    if (h && isFeedEvent(logged.event)) {
      const run = this.deliver(h, logged);
      this.inflight.add(run);
      void run.finally(() => this.inflight.delete(run));
    }
    return logged;
  }

  async start(handler: JobEventHandler): Promise<FeedHandle> {
    this.handler = handler;
    return {
      stop: async () => {
        if (this.handler === handler) this.handler = null;
        await Promise.allSettled([...this.inflight]);
      },
    };
  }

  private async deliver(h: JobEventHandler, e: LoggedEvent): Promise<void> {
    try {
      await retry(() => h(e), MEMORY_HANDLER_RETRY);
    } catch (err) {
      this.onHandlerError(err, e);
    }
  }
}

export const WEBHOOKS_CONSUMER = 'jobstream-webhooks';

export interface JetStreamJobEventFeedOptions {
  nc: NatsConnection;
  stream?: string;
  /**
   * Every events stream with its subjects (a partitioned log: one per partition, the event log's `partitions().all`);
   * default the one `stream` on the contract's subjects. One durable consumer, of the same name, on each.
   */
  streams?: { stream: string; filter: string }[];
  consumer?: string;
  /** Ack wait of the durable consumer (ms); default 30 000. */
  ackWaitMs?: number;
  logger?: { warn(message: string): void };
}

const decoder = new TextDecoder();
/** A failing handler in process: 5 tries, 50 ms apart doubling. */
const MEMORY_HANDLER_RETRY: RetryOptions = { firstMs: 50, maxMs: 400, tries: 5 };
/** A failing handler of a pulled event: 5 tries, 100 ms apart doubling, then the event is handed back. */
const HANDLER_RETRY: RetryOptions = { firstMs: 100, maxMs: 800, tries: 5 };
/** A failed pull is tried again after 100 ms, doubling to 2 s (ends early when the feed stops). */
const PULL_RETRY: RetrySchedule = { firstMs: 100, maxMs: 2_000 };
/** A cheap pre-filter: the raw JSON of an event of interest has its top-level type as one of these. */
const TYPE_MARKERS = Object.keys(WEBHOOK_EVENT_OF).map((t) => `"type":"${t}"`);

/**
 * The production feed: ONE durable pull consumer (`jobstream-webhooks`) on the events stream, shared by every API
 * process, `deliver_policy: new`, explicit acks. Each stored event is delivered to one process; token events are
 * acked straight away (a substring check, no JSON parse), events of interest after the handler resolved.
 */
export class JetStreamJobEventFeed implements JobEventFeed {
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | null = null;
  private readonly sources: { stream: string; filter: string }[];
  private readonly consumerName: string;

  constructor(private readonly opts: JetStreamJobEventFeedOptions) {
    this.js = jetstream(opts.nc);
    this.sources = opts.streams ?? [{ stream: opts.stream ?? EVENTS_STREAM, filter: EVENTS_SUBJECT_WILDCARD }];
    this.consumerName = opts.consumer ?? WEBHOOKS_CONSUMER;
  }

  async start(handler: JobEventHandler): Promise<FeedHandle> {
    for (const source of this.sources) await this.ensureConsumer(source);
    let stopping = false;
    const stopped = new AbortController();
    const loops = this.sources.map((source) => this.pullLoop(source, handler, () => stopping, stopped.signal));
    return {
      stop: async () => {
        stopping = true;
        stopped.abort();
        await Promise.all(loops);
        this.flushAcks();
      },
    };
  }

  /** Pulls one stream's consumer until stopped. */
  private async pullLoop(
    source: { stream: string; filter: string },
    handler: JobEventHandler,
    isStopping: () => boolean,
    stopped: AbortSignal,
  ): Promise<void> {
    let consumer: Consumer | null = null;
    let failures = 0;
    while (!isStopping()) {
      try {
        consumer ??= await this.js.consumers.get(source.stream, this.consumerName);
        const batch = await consumer.fetch({ max_messages: 256, expires: 1_000 });
        for await (const m of batch) {
          if (isStopping()) {
            m.nak();
            continue;
          }
          await this.handle(m, handler, isStopping);
        }
        failures = 0;
      } catch (err) {
        failures++;
        consumer = null;
        if (isStopping()) break;
        this.opts.logger?.warn(`webhook feed pull failed on ${source.stream} (${failures}): ${(err as Error).message}`);
        // the consumer may be gone (a stream recreated): make sure it exists before pulling again
        await this.ensureConsumer(source).catch(() => {});
        await sleep(retryDelay(failures, PULL_RETRY), stopped);
      }
    }
  }

  /**
   * Acks of events of no interest (nearly all: tokens), sent together at the end of the turn: nats.js writes to
   * the socket once per microtask checkpoint and this loop awaits between messages, so acking each at once cost one
   * socket write per event in every API process (6 % of the API's CPU in the latency bench's profile).
   */
  private acks: JsMsg[] = [];
  private readonly flushAcks = (): void => {
    const batch = this.acks;
    this.acks = [];
    for (const m of batch) {
      try {
        m.ack();
      } catch {
        /* connection closed: the consumer redelivers it (harmless: no interest) */
      }
    }
  };
  private ackSoon(m: JsMsg): void {
    this.acks.push(m);
    if (this.acks.length === 1) setImmediate(this.flushAcks);
  }

  private async handle(m: JsMsg, handler: JobEventHandler, stopping: () => boolean): Promise<void> {
    const raw = decoder.decode(m.data);
    if (!TYPE_MARKERS.some((t) => raw.includes(t))) {
      this.ackSoon(m);
      return;
    }
    let event: JobEvent;
    try {
      event = JSON.parse(raw) as JobEvent;
    } catch {
      m.ack(); // not an event: nothing to do, ever
      return;
    }
    if (!isFeedEvent(event)) {
      m.ack();
      return;
    }
    try {
      await retry(
        async () => {
          await handler({ event, pos: m.seq, json: raw });
          m.ack();
        },
        { ...HANDLER_RETRY, retryIf: () => !stopping(), onRetry: () => m.working() },
      );
    } catch (err) {
      // hand it back: this or another process gets it again
      this.opts.logger?.warn(
        `webhook feed handler failed for ${event.job_id} (${event.type}), redelivering: ${(err as Error).message}`,
      );
      m.nak(1_000);
    }
  }

  private async ensureConsumer(source: { stream: string; filter: string }): Promise<void> {
    this.jsm ??= await jetstreamManager(this.opts.nc);
    try {
      await this.jsm.consumers.info(source.stream, this.consumerName);
    } catch (err) {
      if (!isJsNotFound(err)) throw err;
      await this.jsm.consumers.add(source.stream, {
        durable_name: this.consumerName,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        ack_wait: (this.opts.ackWaitMs ?? 30_000) * 1_000_000,
        max_deliver: -1,
        max_ack_pending: 20_000,
        filter_subject: source.filter,
      });
    }
  }
}
