import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { START } from '@jobstream/contracts';
import { EventLogUnavailableError, MemoryEventLog, type EventLog } from '@jobstream/event-log';
import { AgentRegistry } from '../agent.js';
import { EchoAgent } from '../../../../src/worker-core/agents/echo.agent.js';
import { JobRunner } from './job-runner.js';
import { delivery, record, scripted, setup } from './testing/runner-fixtures.js';

describe('JobRunner under log failures', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('rides out an unavailable event log by retrying appends with the same dedup id', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const { log, store } = setup();
    let failures = 3;
    const flaky = Object.assign(Object.create(log) as MemoryEventLog, {
      append: async (jobId: string, input: Parameters<MemoryEventLog['append']>[1]) => {
        // every third append "times out" after being stored: the retry must not store it twice
        const stored = await log.append(jobId, input);
        if (failures-- > 0) throw new EventLogUnavailableError('nats reconnecting');
        return stored;
      },
    });
    const runner = new JobRunner(store, flaky, new AgentRegistry([new EchoAgent()]), {
      maxAttempts: 3,
      workingIntervalMs: 1000,
      appendRetryMs: 5000,
    });
    const job = record();
    await store.create(job);
    const d = delivery(job.id);
    await runner.handle(d);
    expect(d.acked).toBe(true);
    const events = (await log.read(job.id, START, 100)).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual(['status', 'token', 'token', 'token', 'done']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await store.get(job.id)).toMatchObject({ status: 'completed' });
  });

  it('keeps the job alive (in-progress acks, store heartbeats) while the final append rides out a log outage', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const { log, store } = setup();
    // The terminal event meets an outage of the log that lasts until the runner has kept the job alive through it
    // (3 in-progress signals and 3 store heartbeats): no wall-clock window a busy machine could miss. A runner that
    // did not would see the outage outlast its append retries, and the job would not end as below.
    let inOutage = false;
    let keptAlive = 0;
    let heartbeatsDuringOutage = 0;
    const outageOver = () => keptAlive >= 3 && heartbeatsDuringOutage >= 3;
    const flaky = Object.assign(Object.create(log) as MemoryEventLog, {
      append: async (jobId: string, input: Parameters<MemoryEventLog['append']>[1]) => {
        if ((input.event.type === 'error' || input.event.type === 'done') && !outageOver()) {
          inOutage = true;
          throw new EventLogUnavailableError('no stream leader');
        }
        inOutage = false;
        return log.append(jobId, input);
      },
    });
    const heartbeat = store.heartbeat.bind(store);
    jest.spyOn(store, 'heartbeat').mockImplementation(async (id, at) => {
      if (inOutage) heartbeatsDuringOutage++;
      return heartbeat(id, at);
    });
    // no terminal event from the agent: the runner appends `agent_incomplete` itself, after the agent loop
    const runner = new JobRunner(store, flaky, new AgentRegistry([scripted('echo', [{ type: 'token', text: 'a' }])]), {
      maxAttempts: 3,
      workingIntervalMs: 20,
      appendRetryMs: 5000,
    });
    const job = record();
    await store.create(job);
    const d = delivery(job.id);
    d.working = () => {
      if (inOutage) keptAlive++;
    };
    await runner.handle(d);
    expect((await log.last(job.id))?.event).toMatchObject({ type: 'error', code: 'agent_incomplete' });
    expect(keptAlive).toBeGreaterThanOrEqual(3);
    expect(heartbeatsDuringOutage).toBeGreaterThanOrEqual(3);
    expect(d.acked).toBe(true);
  });

  it('voids the attempt when the log lost acknowledged events (failover rollback), and runs it again as a new attempt', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const { log, store } = setup();
    let rolledBack = false;
    const failingOver: EventLog = {
      append: async (id, input) => {
        const r = await log.append(id, input);
        // seq 3 and 4 (tokens "a ", "b ") were acknowledged; then a failover loses them
        if (!rolledBack && r.event.seq === 4) {
          rolledBack = true;
          log.simulateRollback(id, 2);
        }
        return r;
      },
      read: (id, after, limit) => log.read(id, after, limit),
      last: (id) => log.last(id),
      first: (id) => log.first(id),
      subscribe: (id, l) => log.subscribe(id, l),
      delete: (id) => log.delete(id),
      close: () => log.close(),
      openReader: (id) => log.openReader(id),
      hasRoom: () => log.hasRoom(),
      usage: () => log.usage(),
    };
    const runner = new JobRunner(store, failingOver, new AgentRegistry([new EchoAgent()]), {
      maxAttempts: 3,
      workingIntervalMs: 1000,
      appendRetryMs: 2000,
    });
    const job = record({ input: { message: 'a b c' } });
    await store.create(job);
    await log.append(job.id, { event: { type: 'status', status: 'queued' }, attempt: 1 });
    const d = delivery(job.id);
    await runner.handle(d);
    expect(d.acked).toBe(true);
    const events = (await log.read(job.id, START, 100)).map((e) => e.event);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 5, 6, 7, 8, 9]);
    expect(events.slice(2).map((e) => e.type)).toEqual(['attempt', 'token', 'token', 'token', 'done']);
    expect(events[2]).toMatchObject({ type: 'attempt', attempt: 2, reason: 'log_rollback' });
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.map((e) => (e as { text: string }).text).join('')).toBe('a b c');
    expect(tokens.every((e) => e.attempt === 2)).toBe(true);
    expect(await store.get(job.id)).toMatchObject({ status: 'completed', attempt: 2 });
  });
});
