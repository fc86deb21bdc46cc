/**
 * AG-UI end to end with the real `@ag-ui/client` HttpAgent (its runAgent, verification, subscribers and message
 * assembly) against the running app — shared by the embedded e2e run and the JetStream+Redis run. Every event the
 * client receives is also checked against `@ag-ui/core`'s own schema.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { HttpAgent, type AgentSubscriber, type BaseEvent, type Message } from '@ag-ui/client';
import { EventSchema } from '@ag-ui/core/schemas';
import { agUiFetch, readAgUiEvents } from '@jobstream/sdk';
import type { TestApp } from '../support/app.js';
import { startCuttingProxy } from '../support/cutting-proxy.js';
import { waitFor } from '../support/wait.js';

let seq = 0;
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${++seq}`;

/** Records every event a run delivers to subscribers, schema-checked. */
function recorder(): { events: BaseEvent[]; subscriber: AgentSubscriber } {
  const events: BaseEvent[] = [];
  return {
    events,
    subscriber: {
      onEvent: ({ event }) => {
        expect(EventSchema.parse(event)).toEqual(event);
        events.push(event);
      },
    },
  };
}
/** Event types, consecutive text deltas as one (the log may merge tokens: clients count text, never events). */
const types = (events: BaseEvent[]) =>
  events
    .map((e) => e.type as string)
    .filter((t, i, all) => !(t === 'TEXT_MESSAGE_CONTENT' && all[i - 1] === 'TEXT_MESSAGE_CONTENT'));
const assistantText = (messages: Message[]) =>
  messages
    .filter((m) => m.role === 'assistant')
    .map((m) => (typeof m.content === 'string' ? m.content : ''))
    .join('');

export function agUiSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`AG-UI with @ag-ui/client's HttpAgent (${engine})`, () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await start({ HEARTBEAT_MS: '200' });
    });
    afterAll(async () => {
      await app?.close();
    });
    const agent = (threadId = unique('chat'), extra: { fetch?: typeof fetch; url?: string } = {}) =>
      new HttpAgent({
        url: `${extra.url ?? app.url}/v1/ag-ui/echo`,
        threadId,
        ...(extra.fetch ? { fetch: extra.fetch } : {}),
      });
    const user = (content: string): Message => ({ id: unique('u'), role: 'user', content });

    it('a two-turn conversation: one thread, each run a turn, RUN_STARTED carries threadId and runId', async () => {
      const a = agent();
      a.addMessage(user('Hello there, agent.'));
      const r1 = recorder();
      await a.runAgent({ runId: 'run-one' }, r1.subscriber);
      expect(types(r1.events)).toEqual([
        'RUN_STARTED',
        'TEXT_MESSAGE_START',
        'TEXT_MESSAGE_CONTENT',
        'TEXT_MESSAGE_END',
        'RUN_FINISHED',
      ]);
      expect(r1.events[0]).toMatchObject({ threadId: a.threadId, runId: 'run-one' });
      expect(r1.events.at(-1)).toMatchObject({ threadId: a.threadId, runId: 'run-one', outcome: { type: 'success' } });
      expect(assistantText(a.messages)).toBe('Hello there, agent.');

      a.addMessage(user('And a second turn.'));
      const r2 = recorder();
      await a.runAgent({ runId: 'run-two' }, r2.subscriber);
      expect(r2.events[0]).toMatchObject({ threadId: a.threadId, runId: 'run-two' });
      expect(r2.events.at(-1)).toMatchObject({ result: { text: 'And a second turn.', turn: 2 } });
      expect(a.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
      expect(a.messages[3]).toMatchObject({ content: 'And a second turn.' });

      // one thread of two turns; the same runId again is the same turn (no third job)
      const threads = (await app.api('/v1/threads?limit=100')).body.items as { id: string; turns: number }[];
      const again = agent(a.threadId);
      again.setMessages(a.messages.slice(0, 3));
      const r3 = recorder();
      await again.runAgent({ runId: 'run-two' }, r3.subscriber);
      expect(types(r3.events)).toEqual(types(r2.events));
      const after = (await app.api('/v1/threads?limit=100')).body.items as { id: string; turns: number }[];
      expect(after.length).toBe(threads.length);
      expect(after.filter((t) => t.turns === 2).length).toBe(threads.filter((t) => t.turns === 2).length);
    });

    it('a busy thread refuses a second run (409 thread_busy) unless forwardedProps.if_busy says otherwise', async () => {
      const a = agent();
      a.addMessage(user('one two three four five six seven eight nine ten'));
      const first = a.runAgent({ runId: unique('r'), forwardedProps: { input: { delay_ms: 100 } } });
      const threadId = a.threadId;
      await waitFor(
        async () =>
          (await app.api('/v1/threads?limit=100')).body.items.some((t: { status: string }) => t.status === 'busy'),
        { timeoutMs: 10_000, message: 'thread busy' },
      );
      const busy = await app.api('/v1/ag-ui/echo', {
        body: {
          threadId,
          runId: unique('r'),
          messages: [{ id: 'x', role: 'user', content: 'hi' }],
          tools: [],
          context: [],
        },
      });
      expect(busy.status).toBe(409);
      expect(busy.body).toEqual({ error: { code: 'thread_busy', message: expect.any(String) } });
      const b = agent(threadId);
      b.addMessage(user('queued after the first'));
      const second = recorder();
      const queued = b.runAgent({ runId: unique('r'), forwardedProps: { if_busy: 'enqueue' } }, second.subscriber);
      await first;
      await queued;
      expect(assistantText(b.messages)).toBe('queued after the first');
    });

    it('a frontend tool: the call ends the run, the next run’s tool message answers it', async () => {
      const a = agent();
      a.addMessage(user('Summarised your file.'));
      const tools = [{ name: 'read_file', description: 'reads a file', parameters: { type: 'object' } }];
      const r1 = recorder();
      let pending: string[] = [];
      await a.runAgent(
        { runId: unique('r'), tools, forwardedProps: { input: { client_tool: { name: 'read_file' } } } },
        {
          ...r1.subscriber,
          onRunFinishedEvent: (p) => {
            if (p.outcome === 'success') pending = p.pendingToolCallIds;
          },
        },
      );
      expect(types(r1.events)).toEqual([
        'RUN_STARTED',
        'TOOL_CALL_START',
        'TOOL_CALL_ARGS',
        'TOOL_CALL_END',
        'RUN_FINISHED',
      ]);
      const call = r1.events[1] as unknown as { toolCallId: string; toolCallName: string };
      expect(call.toolCallName).toBe('read_file');
      expect(pending).toEqual([call.toolCallId]);
      const assistant = a.messages.find((m) => m.role === 'assistant')!;
      expect(assistant).toMatchObject({
        toolCalls: [{ id: call.toolCallId, function: { name: 'read_file', arguments: '{"message_length":21}' } }],
      });

      a.addMessage({ id: unique('t'), role: 'tool', toolCallId: call.toolCallId, content: '{"text":"hello"}' });
      const r2 = recorder();
      await a.runAgent({ runId: 'tool-answer-run', tools }, r2.subscriber);
      expect(r2.events[0]).toMatchObject({ type: 'RUN_STARTED', runId: 'tool-answer-run' });
      expect(types(r2.events)).toEqual([
        'RUN_STARTED',
        'TEXT_MESSAGE_START',
        'TEXT_MESSAGE_CONTENT',
        'TEXT_MESSAGE_END',
        'RUN_FINISHED',
      ]);
      expect(assistantText(a.messages)).toBe('Summarised your file.');
      // the job received the tool message as the call's result
      const jobId = await lastJobOf(app, a.threadId);
      const events = (await app.api(`/v1/jobs/${jobId}/events?limit=100`)).body.events as { type: string }[];
      expect(events.find((e) => e.type === 'tool_call_end')).toMatchObject({ result: { text: 'hello' } });
      process.stdout.write(
        `[ag-ui] frontend tool, run 1: ${types(r1.events).join(' ')}\n[ag-ui] frontend tool, run 2: ${types(r2.events).join(' ')}\n`,
      );
    });

    it('an approval interrupt: RUN_FINISHED with the interrupt, answered by resume; ?format=ag-ui shows both runs', async () => {
      const a = agent();
      a.addMessage(user('Send the quarterly report to all staff.'));
      const r1 = recorder();
      await a.runAgent(
        { runId: unique('r'), forwardedProps: { input: { ask: { after: 3, prompt: 'Send it to 2 400 people?' } } } },
        r1.subscriber,
      );
      expect(types(r1.events)).toEqual([
        'RUN_STARTED',
        'TEXT_MESSAGE_START',
        'TEXT_MESSAGE_CONTENT',
        'TEXT_MESSAGE_END',
        'RUN_FINISHED',
      ]);
      expect(a.pendingInterrupts).toEqual([
        {
          id: expect.stringMatching(/^req_/),
          reason: 'approval',
          message: 'Send it to 2 400 people?',
          responseSchema: {
            type: 'object',
            properties: { approved: { type: 'boolean' } },
            required: ['approved'],
          },
          expiresAt: expect.any(String),
        },
      ]);
      const interrupt = a.pendingInterrupts[0]!;
      // a run that does not answer the interrupt is refused by the client itself
      await expect(a.runAgent({ runId: unique('r') })).rejects.toThrow(/pending interrupt/);

      // a viewer of the job's AG-UI stream: it stays open while the job waits
      const jobId = await lastJobOf(app, a.threadId);
      const viewer = (async () => {
        const seen: BaseEvent[] = [];
        for await (const { id: _id, ...e } of readAgUiEvents(app.url, jobId)) {
          expect(EventSchema.parse(e)).toEqual(e);
          seen.push(e as BaseEvent);
        }
        return types(seen);
      })();

      const r2 = recorder();
      await a.runAgent(
        {
          runId: 'resume-run',
          resume: [{ interruptId: interrupt.id, status: 'resolved', payload: { approved: true } }],
        },
        r2.subscriber,
      );
      expect(types(r2.events)).toEqual([
        'RUN_STARTED',
        'TEXT_MESSAGE_START',
        'TEXT_MESSAGE_CONTENT',
        'TEXT_MESSAGE_END',
        'RUN_FINISHED',
      ]);
      expect(r2.events[0]).toMatchObject({ runId: 'resume-run', threadId: a.threadId });
      expect(a.pendingInterrupts).toEqual([]);
      expect(assistantText(a.messages)).toBe('Send the quarterly report to all staff.');
      expect(await viewer).toEqual([...types(r1.events), ...types(r2.events)]);
      process.stdout.write(
        `[ag-ui] interrupt, run 1: ${types(r1.events).join(' ')}\n[ag-ui] interrupt, run 2 (resume): ${types(r2.events).join(' ')}\n`,
      );
    });

    it('a connection cut mid-run: the job goes on; the rest is read from ?format=ag-ui with the last cursor', async () => {
      const message = 'one two three four five six seven eight nine ten eleven twelve';
      // 1) plain HttpAgent through a proxy that cuts the first response: the run fails for the client, not the job
      const proxy = await startCuttingProxy(app.url, (n) => (n === 1 ? 1_200 : undefined));
      try {
        let raw = '';
        const tee: typeof fetch = async (u, i) => {
          const res = await fetch(u, i);
          const [mine, upstream] = res.body!.tee();
          // HttpAgent rethrows a failed cancel of a broken body (an unhandled rejection) unless it is an AbortError
          const reader = upstream.getReader();
          const theirs = new ReadableStream<Uint8Array>({
            async pull(c) {
              try {
                const { done, value } = await reader.read();
                if (done) c.close();
                else c.enqueue(value);
              } catch (err) {
                c.error(Object.assign(new Error(String(err)), { name: 'AbortError' }));
              }
            },
          });
          void (async () => {
            const dec = new TextDecoder();
            try {
              for await (const c of mine) raw += dec.decode(c, { stream: true });
            } catch {
              /* cut */
            }
          })();
          return new Response(theirs, { status: res.status, headers: res.headers });
        };
        const a = agent(unique('chat'), { url: proxy.url, fetch: tee });
        a.addMessage(user(message));
        const got = recorder();
        await a.runAgent({ runId: unique('r'), forwardedProps: { input: { delay_ms: 40 } } }, got.subscriber).then(
          () => 'completed',
          () => 'failed',
        );
        expect(types(got.events)).not.toContain('RUN_FINISHED'); // the run did not end for this client
        const jobId = await lastJobOf(app, a.threadId);
        await waitFor(async () => (await app.api(`/v1/jobs/${jobId}`)).body.status === 'completed', {
          timeoutMs: 15_000,
          message: 'the job completes without its client',
        });
        // the complete frames the client got before the cut (the last piece may be a partial frame)
        const frames = raw.split('\n\n').slice(0, -1);
        const ids: string[] = [];
        const received: BaseEvent[] = [];
        for (const f of frames) {
          const id = /^id: (.+)$/m.exec(f)?.[1];
          const data = /^data: (.+)$/m.exec(f)?.[1];
          if (id === undefined || data === undefined) continue;
          ids.push(id);
          received.push(JSON.parse(data) as BaseEvent);
        }
        expect(received.length).toBeGreaterThan(1);
        const rest: BaseEvent[] = [];
        for await (const e of readAgUiEvents(app.url, jobId, { after: ids.at(-1)! })) {
          const { id: _id, ...ev } = e;
          rest.push(ev as BaseEvent);
        }
        const whole: BaseEvent[] = [];
        for await (const e of readAgUiEvents(app.url, jobId)) {
          const { id: _id, ...ev } = e;
          whole.push(ev as BaseEvent);
        }
        expect([...received, ...rest]).toEqual(whole);
        expect(
          whole
            .filter((e) => (e.type as string) === 'TEXT_MESSAGE_CONTENT')
            .map((e) => (e as unknown as { delta: string }).delta)
            .join(''),
        ).toBe(message);
      } finally {
        await proxy.close();
      }

      // 2) the SDK's agUiFetch resumes the run itself: runAgent completes with the whole message
      const proxy2 = await startCuttingProxy(app.url, (n) => (n === 1 ? 1_200 : undefined));
      try {
        const b = agent(unique('chat'), { url: proxy2.url, fetch: agUiFetch({ resumeDelayMs: 10 }) as typeof fetch });
        b.addMessage(user(message));
        const r = recorder();
        await b.runAgent({ runId: unique('r'), forwardedProps: { input: { delay_ms: 40 } } }, r.subscriber);
        expect(proxy2.connections).toBeGreaterThanOrEqual(2);
        expect(assistantText(b.messages)).toBe(message);
        expect(types(r.events).at(-1)).toBe('RUN_FINISHED');
      } finally {
        await proxy2.close();
      }
    });

    it('bad RunAgentInput: 4xx JSON and nothing created', async () => {
      const before = await counts(app);
      const good = {
        threadId: unique('bad'),
        runId: 'r',
        messages: [{ id: 'm', role: 'user', content: 'x' }],
        tools: [],
        context: [],
      };
      const cases: [unknown, number, string][] = [
        [{ ...good, threadId: undefined }, 400, 'invalid_request'],
        [{ ...good, runId: 42 }, 400, 'invalid_request'],
        [{ ...good, messages: [{ id: 'm', role: 'wizard', content: 'x' }] }, 400, 'invalid_request'],
        [{ ...good, messages: [] }, 400, 'invalid_request'],
        [{ ...good, messages: [{ id: 'm', role: 'assistant', content: 'only me' }] }, 400, 'invalid_request'],
        [{ ...good, forwardedProps: { input: { repeat: 0 } } }, 400, 'invalid_request'],
        [{ ...good, forwardedProps: { if_busy: 'sometimes' } }, 400, 'invalid_request'],
        [{ ...good, tools: [{ name: 'bad name!', description: '' }] }, 400, 'invalid_request'],
        [{ ...good, resume: [{ interruptId: 'req_x', status: 'resolved', payload: {} }] }, 404, 'not_found'],
        ['not json at all', 400, 'invalid_request'],
      ];
      for (const [body, status, code] of cases) {
        const r = await app.api('/v1/ag-ui/echo', { body });
        expect({ body, status: r.status, error: r.body }).toEqual({
          body,
          status,
          error: { error: { code, message: expect.any(String) } },
        });
      }
      expect(await app.api('/v1/ag-ui/nobody', { body: good })).toMatchObject({
        status: 400,
        body: { error: { code: 'unknown_agent' } },
      });
      // the real client sees the 400 as a failed run
      const a = agent();
      const quiet = jest.spyOn(console, 'error').mockImplementation(() => {}); // HttpAgent logs a failed run
      try {
        await expect(a.runAgent({ runId: unique('r') })).rejects.toThrow(/400/);
      } finally {
        quiet.mockRestore();
      }
      expect(await counts(app)).toEqual(before);
    });
  });
}

/** The newest turn of the tenant's thread named `threadId` (threads show their AG-UI name as `external_id`). */
async function lastJobOf(app: TestApp, threadId: string): Promise<string> {
  const threads = (await app.api('/v1/threads?limit=100')).body.items as {
    external_id?: string;
    last_job_id: string;
  }[];
  return threads.find((t) => t.external_id === threadId)!.last_job_id;
}

async function counts(app: TestApp): Promise<{ threads: number; jobs: number }> {
  const threads = (await app.api('/v1/threads?limit=100')).body.items.length as number;
  const jobs = (await app.api('/v1/jobs?limit=100')).body.items.length as number;
  return { threads, jobs };
}
