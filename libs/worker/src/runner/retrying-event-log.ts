/**
 * The event log as the runner appends to it: an append rides out an unavailable log (a NATS reconnect, a JetStream
 * leader election) by retrying with the same dedup id — so an append that was stored but whose ack was lost is not
 * stored twice — for up to `retryMs`, while the agent waits (it is read on only to merge the texts that follow a
 * text in flight, within one event: output-pipe.ts). Every other
 * member is the log's own.
 */
import { EventLogUnavailableError, type EventLog, type LoggedEvent } from '@jobstream/event-log';
import type { DomainLogger } from '@jobstream/job-domain';
import { retry } from '@jobstream/nats';

export interface RetryingLogOptions {
  retryMs: number;
  logger: DomainLogger;
  /** Told of every event stored through this log (the runner counts its bytes). */
  onStored?: (jobId: string, stored: LoggedEvent) => void;
}

export function retryingEventLog(log: EventLog, o: RetryingLogOptions): EventLog {
  const append: EventLog['append'] = async (jobId, input) => {
    const stored = await retry(() => log.append(jobId, input), {
      firstMs: 100,
      maxMs: 2_000,
      forMs: o.retryMs,
      retryIf: (err) => err instanceof EventLogUnavailableError,
      onRetry: (_err, _failures, delay) =>
        o.logger.warn({ msg: 'event log unavailable; retrying append', job_id: jobId, retry_in_ms: delay }),
    });
    o.onStored?.(jobId, stored);
    return stored;
  };
  return new Proxy(log, {
    get(target, prop) {
      if (prop === 'append') return append;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
