/**
 * Requests answered on ONE wildcard inbox subscription (`<inbox>.<token>`), with one shared timeout sweeper: the
 * mux behind the lean JetStream publish and direct get. Details: docs/internals.md.
 */
import {
  ClosedConnectionError,
  createInbox,
  TimeoutError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
  deadline: number;
}

export class InboxRequests<T> {
  private readonly pending = new Map<string, Pending<T>>();
  private readonly prefix: string;
  private sub: Subscription | null = null;
  private next = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * @param decode turns a reply into the request's result; what it throws rejects the request
   * @param timeoutMs how long a request waits for its reply
   * @param sweepMs how often pending requests are checked for their deadline (default: timeout / 10, 10–250 ms)
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly decode: (reply: Msg) => T,
    private readonly timeoutMs: number,
    private readonly sweepMs = Math.min(250, Math.max(10, Math.floor(timeoutMs / 10))),
  ) {
    this.prefix = `${createInbox()}.`;
    // Fail what is pending when the connection is closed for good (not on a disconnect: replies may still come
    // after a reconnect if the server had them; the sweeper decides then).
    nc.closed()
      .then(() => this.failAll(new ClosedConnectionError()))
      .catch(() => {});
  }

  /** Publishes `data` to `subject` with a reply subject of this inbox and resolves with the decoded reply. */
  request(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) {
        reject(new ClosedConnectionError());
        return;
      }
      const token = (this.next++).toString(36);
      try {
        this.sub ??= this.nc.subscribe(`${this.prefix}*`, {
          callback: (err, m) => {
            if (!err) this.onReply(m);
          },
        });
        this.pending.set(token, { resolve, reject, deadline: Date.now() + this.timeoutMs });
        this.nc.publish(subject, data, { reply: this.prefix + token, headers });
      } catch (err) {
        this.pending.delete(token);
        reject(err);
        return;
      }
      this.sweeper ??= setInterval(this.sweep, this.sweepMs).unref();
    });
  }

  /** Requests still waiting for their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Refuses new requests; the inbox subscription goes once the pending ones are settled. */
  close(): void {
    this.closed = true;
    this.release();
  }

  private release(): void {
    if (!this.closed || this.pending.size > 0 || !this.sub) return;
    try {
      this.sub.unsubscribe();
    } catch {
      /* the connection is closed already */
    }
    this.sub = null;
  }

  private onReply(m: Msg): void {
    const token = m.subject.slice(this.prefix.length);
    const p = this.pending.get(token);
    if (!p) return; // timed out already
    this.pending.delete(token);
    if (this.closed) this.release();
    let value: T;
    try {
      value = this.decode(m);
    } catch (err) {
      p.reject(err);
      return;
    }
    p.resolve(value);
  }

  /** Fails the requests past their deadline (entries are in send order, all with the same timeout). */
  private readonly sweep = (): void => {
    if (this.pending.size === 0) {
      clearInterval(this.sweeper!);
      this.sweeper = null;
      return;
    }
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) break;
      this.pending.delete(token);
      p.reject(new TimeoutError());
    }
    this.release();
  };

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.release();
  }
}
