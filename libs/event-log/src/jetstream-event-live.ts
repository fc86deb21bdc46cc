/**
 * Live delivery of one job's events: a core subscription on the stream's republish subject
 * (`jobstream.live.<jobId>`), which carries only stored events, each with its stream sequence (`Nats-Sequence`).
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { EventListener, LiveSubscription, LoggedEvent } from './event-log.port.js';
import { liveSubject, parseStored, unavailable, type EventLogLogger } from './jetstream-event-stream.js';

export class JetStreamEventLive {
  private readonly subs = new Set<{ unsubscribe(): void }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
    private readonly logger?: EventLogLogger,
  ) {}

  /** Resolves after `flush`, when the server has the interest. */
  async subscribe(jobId: string, listener: EventListener): Promise<LiveSubscription> {
    let active = true;
    let sub;
    try {
      sub = this.nc.subscribe(liveSubject(jobId), {
        callback: (err, m) => {
          if (err || !active) return;
          const delivered = this.fromLive(m);
          if (!delivered) return;
          try {
            listener(delivered);
          } catch {
            /* a listener's failure is its own */
          }
        },
      });
    } catch (err) {
      throw unavailable(err, 'subscribe');
    }
    const handle = {
      unsubscribe: () => {
        if (!active) return;
        active = false;
        this.subs.delete(handle);
        sub.unsubscribe();
      },
    };
    this.subs.add(handle);
    try {
      await this.flush();
    } catch (err) {
      handle.unsubscribe();
      throw unavailable(err, 'subscribe');
    }
    return handle;
  }

  close(): void {
    for (const s of [...this.subs]) s.unsubscribe();
  }

  private fromLive(m: Msg): LoggedEvent | null {
    const pos = Number(m.headers?.get('Nats-Sequence'));
    try {
      if (!Number.isSafeInteger(pos) || pos < 1) throw new Error('no Nats-Sequence header');
      return parseStored(m.data, pos);
    } catch (err) {
      this.logger?.warn(`ignoring a malformed live event on ${m.subject}: ${(err as Error).message}`);
      return null;
    }
  }

  /** `flush` with a deadline, so a subscribe during an outage fails instead of hanging. */
  private async flush(): Promise<void> {
    const ms = this.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.nc.flush(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`flush timed out after ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
