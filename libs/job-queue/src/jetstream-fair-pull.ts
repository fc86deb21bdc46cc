/**
 * Tenant-fair pulls from the dispatch work-queue stream: one durable pull consumer per `<base>.<agent>.<tenant>`
 * subject, tenants served round-robin with `no_wait` pulls. Details: docs/internals.md.
 */
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { dispatchSubject, fromSubjectToken } from '@jobstream/contracts';
import type { TenantRoundRobin } from './fair-picker.js';
import type { DispatchTarget } from './job-queue.port.js';
import { pullNoWait, type PulledMsg } from './no-wait-pull.js';

/** An idle (agent, tenant) consumer is removed by the server after this long (its messages stay in the stream). */
export const CONSUMER_INACTIVE_MS = 3_600_000;
/** How long a subject whose messages are all held elsewhere is skipped (unless more messages arrive). */
export const EMPTY_RECHECK_MS = 1_000;
/** Most legacy messages moved per pass. */
const LEGACY_BATCH = 100;
/**
 * Longest wait for the answer to a `no_wait` pull. The server answers at once, but a pull published while the
 * consumer's leader is being elected (a node killed) is never answered: without this bound the loop would wait
 * forever and its jobs would never run.
 */
export const PULL_ANSWER_TIMEOUT_MS = 5_000;

const nanos = (ms: number) => Math.round(ms * 1_000_000);
const decoder = new TextDecoder();

export interface FairPullOptions {
  stream: string;
  /** The dispatch base subject (the legacy single subject; jobs go below it). */
  base: string;
  /** The legacy durable consumer's name. */
  legacyConsumer: string;
  ackWaitMs: number;
  maxAckPending: number;
  /** The agent and tenant of a job found on the legacy subject (null: the job is gone; its message is dropped). */
  resolveLegacy?: (jobId: string) => Promise<DispatchTarget | null>;
  /** Longest wait for a pull's answer (ms); default {@link PULL_ANSWER_TIMEOUT_MS}. */
  answerTimeoutMs?: number;
  /** How long a subject found empty is skipped (ms); default {@link EMPTY_RECHECK_MS}. */
  emptyRecheckMs?: number;
  warn(message: string): void;
}

/** The durable consumer of one dispatch subject. */
export function dispatchConsumerName(subject: string): string {
  return `dispatch-${createHash('sha256').update(subject).digest('hex').slice(0, 32)}`;
}

interface Candidate extends DispatchTarget {
  subject: string;
  count: number;
}

export class FairPull {
  private readonly known = new Set<string>();
  private readonly empty = new Map<string, { count: number; until: number }>();
  /** Per tenant: which of its agents' subjects is tried first (rotates). */
  private readonly agentTurn = new Map<string, number>();
  /** Subjects published on since a pass last looked, with their publish counts (the hint of a `fresh` pass). */
  private readonly fresh = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: FairPullOptions,
  ) {}

  /** A job was published on `subject` (the queue's wake-up): look at it again on the next pass. */
  published(subject: string): void {
    this.empty.delete(subject);
    if (this.agentOf(subject) !== null) this.fresh.set(subject, (this.fresh.get(subject) ?? 0) + 1);
  }

  /** The agent of a message on `subject`, or null for the legacy subject / anything else. */
  agentOf(subject: string): string | null {
    const [agent, tenant, ...rest] = subject.slice(this.opts.base.length + 1).split('.');
    return subject.startsWith(`${this.opts.base}.`) && agent && tenant && rest.length === 0
      ? fromSubjectToken(agent)
      : null;
  }

  /**
   * Takes up to `n` jobs of `agents`, tenants in `rr`'s order, handing each message to `take`. Returns how many
   * were taken. `fresh`: the caller's last pass found nothing to take; `pass.caughtUp` is then set when the jobs
   * published since were all taken (see the header). Throws when the broker cannot be asked (the caller backs off).
   */
  async pull(
    agents: ReadonlySet<string>,
    n: number,
    rr: TenantRoundRobin,
    take: (m: PulledMsg, target: DispatchTarget) => void,
    fresh = false,
    pass: { caughtUp: boolean } = { caughtUp: false },
  ): Promise<number> {
    pass.caughtUp = false;
    const published = this.takeFresh(agents);
    if (fresh && published.size > 0) {
      const { got, caughtUp } = await this.pullPublished(published, n, rr, take);
      if (got > 0) {
        pass.caughtUp = caughtUp;
        return got;
      }
    }
    const { candidates, legacy } = await this.candidates(agents);
    if (legacy > 0 && this.opts.resolveLegacy && (await this.moveLegacy()) > 0) return this.pull(agents, n, rr, take);
    let got = 0;
    while (got < n && candidates.size > 0) {
      for (const tenant of rr.order(candidates.keys())) {
        if (got >= n) break;
        const list = candidates.get(tenant)!;
        const turn = (this.agentTurn.get(tenant) ?? 0) % list.length;
        const c = list[turn]!;
        const want = candidates.size === 1 ? n - got : 1;
        const msgs = await this.probe(c.subject, want);
        for (const m of msgs) take(m, c);
        got += msgs.length;
        if (msgs.length > 0) {
          rr.served(tenant);
          this.agentTurn.set(tenant, turn + 1);
        }
        if (msgs.length < want) {
          // every message left on it is held elsewhere (or delayed): skip it for a while
          this.empty.set(c.subject, {
            count: c.count,
            until: Date.now() + (this.opts.emptyRecheckMs ?? EMPTY_RECHECK_MS),
          });
          list.splice(turn, 1);
          if (list.length === 0) candidates.delete(tenant);
        }
      }
    }
    return got;
  }

  /** The subjects of `agents` published on since a pass last looked, by tenant (they are forgotten here). */
  private takeFresh(agents: ReadonlySet<string>): Map<string, Candidate[]> {
    const out = new Map<string, Candidate[]>();
    for (const [subject, count] of this.fresh) {
      const agent = this.agentOf(subject)!;
      if (!agents.has(agent)) continue;
      this.fresh.delete(subject);
      const tenant = fromSubjectToken(subject.slice(this.opts.base.length + 1).split('.')[1]!);
      const list = out.get(tenant) ?? [];
      list.push({ agent, tenant, subject, count });
      out.set(tenant, list);
    }
    return out;
  }

  /**
   * The jobs just published (`count` per subject), one per tenant per round, tenants in `rr`'s order (no stream
   * info). `caughtUp`: every one was taken (none left over for want of slots, none missing from its subject).
   */
  private async pullPublished(
    published: Map<string, Candidate[]>,
    n: number,
    rr: TenantRoundRobin,
    take: (m: PulledMsg, target: DispatchTarget) => void,
  ): Promise<{ got: number; caughtUp: boolean }> {
    let got = 0;
    let caughtUp = true;
    for (const list of published.values()) list.sort((a, b) => a.subject.localeCompare(b.subject));
    while (published.size > 0) {
      for (const tenant of rr.order(published.keys())) {
        if (got >= n) return { got, caughtUp: false };
        const list = published.get(tenant)!;
        const c = list[0]!;
        const [m] = await this.probe(c.subject, 1);
        if (m) {
          take(m, c);
          got++;
          rr.served(tenant);
        } else caughtUp = false; // not stored yet, or held elsewhere: the full pass looks again
        if (!m || --c.count <= 0) list.shift();
        if (list.length === 0) published.delete(tenant);
      }
    }
    return { got, caughtUp };
  }

  /** Subjects of `agents` with messages, by tenant; and the legacy subject's count. */
  private async candidates(
    agents: ReadonlySet<string>,
  ): Promise<{ candidates: Map<string, Candidate[]>; legacy: number }> {
    const info = await this.jsm.streams.info(this.opts.stream, { subjects_filter: '>' });
    const counts = info.state.subjects ?? {};
    const now = Date.now();
    const out = new Map<string, Candidate[]>();
    for (const [subject, count] of Object.entries(counts)) {
      if (count <= 0 || !subject.startsWith(`${this.opts.base}.`)) continue;
      const [agentTok, tenantTok] = subject.slice(this.opts.base.length + 1).split('.');
      const agent = fromSubjectToken(agentTok ?? '');
      if (!agents.has(agent) || !tenantTok) continue;
      const skip = this.empty.get(subject);
      if (skip && skip.until > now && count <= skip.count) continue;
      this.empty.delete(subject);
      const tenant = fromSubjectToken(tenantTok);
      const list = out.get(tenant) ?? [];
      list.push({ agent, tenant, subject, count });
      out.set(tenant, list);
    }
    for (const list of out.values()) list.sort((a, b) => a.subject.localeCompare(b.subject));
    return { candidates: out, legacy: counts[this.opts.base] ?? 0 };
  }

  /** What `subject`'s consumer has for us now (at most `want`; nothing waits on the server). */
  private async probe(subject: string, want: number): Promise<PulledMsg[]> {
    const name = dispatchConsumerName(subject);
    try {
      return await this.fetchNow(subject, name, want);
    } catch (err) {
      // the consumer was removed (idle) or never made here: make it, and try once more
      this.known.delete(name);
      this.opts.warn(`dispatch consumer ${name} (${subject}) re-created after: ${(err as Error).message}`);
      return this.fetchNow(subject, name, want);
    }
  }

  private async fetchNow(subject: string, name: string, want: number): Promise<PulledMsg[]> {
    if (!this.known.has(name)) {
      await this.ensureConsumer(name, subject, true);
      this.known.add(name);
    }
    return this.fetchBounded(name, want);
  }

  /** A `no_wait` pull that ends with an error if the server has not answered in time (see the constant). */
  private fetchBounded(name: string, batch: number): Promise<PulledMsg[]> {
    return pullNoWait(this.nc, this.opts.stream, name, batch, this.opts.answerTimeoutMs ?? PULL_ANSWER_TIMEOUT_MS);
  }

  private async ensureConsumer(name: string, subject: string, idleRemoval: boolean): Promise<void> {
    const want: Partial<ConsumerConfig> = {
      durable_name: name,
      description: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.opts.ackWaitMs),
      max_deliver: -1,
      max_ack_pending: this.opts.maxAckPending,
      filter_subject: subject,
      ...(idleRemoval ? { inactive_threshold: nanos(CONSUMER_INACTIVE_MS) } : {}),
    };
    try {
      // idempotent for an identical config, so processes starting together converge
      await this.jsm.consumers.add(this.opts.stream, want);
    } catch (err) {
      // it exists with other settings (an ack wait changed by configuration): bring those up to date
      const info = await this.jsm.consumers.info(this.opts.stream, name).catch(() => {
        throw err;
      });
      if (info.config.ack_wait !== want.ack_wait || info.config.max_ack_pending !== want.max_ack_pending) {
        await this.jsm.consumers.update(this.opts.stream, name, {
          ack_wait: want.ack_wait,
          max_ack_pending: want.max_ack_pending,
        });
      }
    }
  }

  /** Moves legacy messages to their agent's subject (see the header). Returns how many were moved or dropped. */
  private async moveLegacy(): Promise<number> {
    const name = this.opts.legacyConsumer;
    if (!this.known.has(name)) {
      await this.ensureConsumer(name, this.opts.base, false);
      this.known.add(name);
    }
    let moved = 0;
    for (const m of await this.fetchBounded(name, LEGACY_BATCH)) {
      const jobId = decoder.decode(m.data);
      try {
        const target = await this.opts.resolveLegacy!(jobId);
        if (target) {
          await this.js.publish(dispatchSubject(target.agent, target.tenant, this.opts.base), m.data, {
            ...(m.headers ? { headers: m.headers } : {}),
            msgID: `${jobId}:legacy:${m.seq}`,
          });
        }
        await m.ackAck();
        moved++;
      } catch (err) {
        m.nak(1_000);
        this.opts.warn(`moving legacy dispatch of ${jobId} failed, retrying: ${(err as Error).message}`);
      }
    }
    return moved;
  }
}
