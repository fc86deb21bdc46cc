/**
 * The event log as the runner appends to it: an append rides out an unavailable log (a NATS reconnect, a JetStream
 * leader election) by retrying with the same dedup id — so an append that was stored but whose ack was lost is not
 * stored twice — for up to `retryMs`, while the agent waits (it is read on only to merge the texts that follow a
 * text in flight, within one event: output-pipe.ts). Every other
 * member is the log's own.
 */
import { EventLogUnavailableError, type EventLog, type LoggedEvent } from '@jobstream/event-log';
import type { DomainLogger } from '@jobstream/job-domain';

export interface RetryingLogOptions {
  retryMs: number;
  logger: DomainLogger;
  /** Told of every event stored through this log (the runner counts its bytes). */
  onStored?: (jobId: string, stored: LoggedEvent) => void;
}

export function retryingEventLog(log: EventLog, o: RetryingLogOptions): EventLog {
  const append: EventLog['append'] = async (jobId, input) => {
    const deadline = Date.now() + o.retryMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        const stored = await log.append(jobId, input);
        o.onStored?.(jobId, stored);
        return stored;
      } catch (err) {
        if (!(err instanceof EventLogUnavailableError) || Date.now() + delay > deadline) throw err;
        o.logger.warn({ msg: 'event log unavailable; retrying append', job_id: jobId, retry_in_ms: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  return new Proxy(log, {
    get(target, prop) {
      if (prop === 'append') return append;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
