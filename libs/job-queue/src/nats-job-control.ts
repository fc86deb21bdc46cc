/**
 * JobControl over core NATS: cancel requests on `jobstream.control.cancel.<jobId>`; `onCancel` subscribes to the
 * wildcard and resolves after `flush`, when the server has the interest.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { CONTROL_CANCEL_PREFIX, cancelSubject } from '@jobstream/contracts';
import type { CancelListener, JobControl } from './job-queue.port.js';
import { connectOwned, type NatsConnectOptions } from './nats-connect.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Cancel requests over core NATS. */
export class NatsJobControl implements JobControl {
  private readonly subs = new Set<{ unsubscribe(): void }>();
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly owns: boolean,
  ) {}

  static async create(opts: NatsConnectOptions): Promise<NatsJobControl> {
    const { nc, owns } = await connectOwned(opts, 'jobstream-job-control');
    return new NatsJobControl(nc, owns);
  }

  async requestCancel(jobId: string, reason: string): Promise<void> {
    this.nc.publish(cancelSubject(jobId), encoder.encode(JSON.stringify({ reason })));
    await this.nc.flush();
  }

  async onCancel(listener: CancelListener): Promise<() => void> {
    const prefix = `${CONTROL_CANCEL_PREFIX}.`;
    const sub = this.nc.subscribe(`${prefix}*`, {
      callback: (err, m) => {
        if (err) return;
        let reason = '';
        try {
          const r = (JSON.parse(decoder.decode(m.data)) as { reason?: unknown }).reason;
          reason = typeof r === 'string' ? r : '';
        } catch {
          /* a malformed body still cancels, without a reason */
        }
        try {
          listener(m.subject.slice(prefix.length), reason);
        } catch {
          /* the listener's failure is its own */
        }
      },
    });
    const handle = { unsubscribe: () => sub.unsubscribe() };
    this.subs.add(handle);
    await this.nc.flush();
    return () => {
      if (this.subs.delete(handle)) handle.unsubscribe();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs.clear();
    if (this.owns && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}
