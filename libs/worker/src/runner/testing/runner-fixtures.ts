/** Fixtures of the runner's specs: a runner over memory ports, job records, deliveries and scripted agents. */
import { Logger } from '@nestjs/common';
import { START, newJobId, type AgentEvent } from '@jobstream/contracts';
import { waitFor } from '../../../../contracts/src/testing/wait.js';
import { MemoryEventLog, type EventLog } from '@jobstream/event-log';
import type { QueuedJob } from '@jobstream/job-queue';
import { MemoryJobStore, newJobRecord, type JobRecord } from '@jobstream/job-store';
import { AgentRegistry, type Agent, type AgentContext } from '../../agent.js';
import { EchoAgent } from '../../../../../src/worker-core/agents/echo.agent.js';
import { JobRunner } from '../job-runner.js';

export function setup(agents: Agent[] = [new EchoAgent()], maxAttempts = 3) {
  const log = new MemoryEventLog({ retentionMs: 60_000 });
  const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
  const runner = new JobRunner(store, log, new AgentRegistry(agents), {
    maxAttempts,
    workingIntervalMs: 1000,
    appendRetryMs: 2000,
    logger: new Logger('JobRunner'), // a Nest logger: the tests spy on it
  });
  return { log, store, runner };
}

export function record(over: Partial<JobRecord> = {}): JobRecord {
  const fields = { id: newJobId(), tenant: 't', agent: 'echo', input: { message: 'a b c' }, metadata: null };
  return { ...newJobRecord(fields), ...over };
}

export function delivery(jobId: string, deliveries = 1): QueuedJob & { acked: boolean; abandoned: boolean } {
  const d = {
    jobId,
    agent: 'echo',
    tenant: 't',
    deliveries,
    acked: false,
    abandoned: false,
    working: () => {},
    ack: async () => {
      d.acked = true;
    },
    release: async () => {},
    abandon: () => {
      d.abandoned = true;
    },
  };
  return d;
}

/** An agent that yields a scripted list of (possibly invalid) events. */
export const scripted = (name: string, events: unknown[], opts: { throwAfter?: boolean } = {}): Agent => ({
  name,
  async *run(ctx: AgentContext) {
    for (const e of events) {
      if ((e as { type?: string }).type === 'token') ctx.usage.output_tokens++;
      yield e as AgentEvent;
    }
    if (opts.throwAfter) throw new Error('provider exploded');
  },
});

/**
 * The echo agent, held after its `holdAfter`-th token until `release()` (or until the run is aborted): the job is
 * certainly still running while the test cancels it, hands it back or writes to its log, however slow the machine.
 */
export function heldEcho(holdAfter: number): { agent: Agent; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const agent: Agent = {
    name: 'echo',
    async *run(ctx: AgentContext) {
      let tokens = 0;
      for await (const out of new EchoAgent().run(ctx)) {
        yield out;
        if (out.type === 'token' && ++tokens === holdAfter) {
          await Promise.race([released, new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }))]);
          if (ctx.signal.aborted) return; // like echo: the runner reports the cancel or hand-back
        }
      }
    },
  };
  return { agent, release };
}

/** Resolves once the job's log holds `n` tokens. */
export const tokensIn = (log: EventLog, jobId: string, n: number) =>
  waitFor(async () => (await log.read(jobId, START, 100)).filter((e) => e.event.type === 'token').length >= n, {
    intervalMs: 5,
    message: `${n} tokens of ${jobId}`,
  });
