/**
 * Resume v2 end to end through the real app — snapshots, type filters, the AI SDK format — shared by the embedded
 * e2e run and the JetStream+Redis run.
 */
import { describe, expect, it } from '@jest/globals';
import {
  newJobId,
  reduceJobEvents,
  stateOfSnapshot,
  toJobSnapshot,
  type AgentEvent,
  type JobEvent,
  type JobSnapshot,
} from '@jobstream/contracts';
import type { EventLog } from '@jobstream/event-log';
import { newJobRecord, type JobStore } from '@jobstream/job-store';
import { DEFAULT_TENANT } from '../../src/auth/auth.constants.js';
import { EVENT_LOG, JOB_STORE } from '../../src/engine/engine.constants.js';
import {
  createClient,
  createStream,
  isSnapshot,
  seededRandom,
  subscribeJobStream,
  type JobStreamItem,
} from '@jobstream/sdk';
import { jobTransport, readJobMessage, reasoningOf, TestChat, textOf, toolPartsOf } from '../support/ai-sdk.js';
import type { TestApp } from '../support/app.js';
import { appForBlock, createEchoJob } from '../support/tenant-app.js';
import { startCuttingProxy } from '../support/cutting-proxy.js';
import { openSse, readAll, tokenText } from '../support/sse-client.js';

/** A job with everything a snapshot tracks: tokens, thinking, tools, an input request and its answer, an attempt restart. */
const SCRIPT: [attempt: number, event: AgentEvent][] = [
  [1, { type: 'status', status: 'queued' }],
  [1, { type: 'status', status: 'running' }],
  [1, { type: 'thinking', text: 'Let me ' }],
  [1, { type: 'thinking', text: 'think.' }],
  [1, { type: 'token', text: 'Hello ' }],
  [1, { type: 'tool_call_start', call_id: 'c1', name: 'search', arguments: { q: 'weather' } }],
  [1, { type: 'token', text: 'wor' }],
  [2, { type: 'attempt', attempt: 2, reason: 'worker_lost' }],
  [2, { type: 'status', status: 'running' }],
  [2, { type: 'thinking', text: 'Again, ' }],
  [2, { type: 'thinking', text: 'carefully.' }],
  [2, { type: 'tool_call_start', call_id: 'c2', name: 'search', arguments: { q: 'weather' } }],
  [2, { type: 'tool_call_end', call_id: 'c2', name: 'search', result: { temp: 21 } }],
  [2, { type: 'token', text: 'It is ' }],
  [2, { type: 'tool_call_start', call_id: 'c3', name: 'client.confirm', arguments: { message_length: 5 } }],
  [
    2,
    {
      type: 'input_required',
      request_id: 'req_1',
      kind: 'tool_results',
      prompt: 'run client.confirm',
      tool_calls: [{ call_id: 'c3', name: 'client.confirm', arguments: { message_length: 5 } }],
      expires_at: '2099-01-01T00:00:00.000Z',
    },
  ],
  [2, { type: 'status', status: 'waiting_for_input' }],
  [2, { type: 'input_received', request_id: 'req_1', input: { results: [{ call_id: 'c3', result: 'ok' }] } }],
  [2, { type: 'status', status: 'running' }],
  [2, { type: 'tool_call_end', call_id: 'c3', name: 'client.confirm', result: 'ok' }],
  [2, { type: 'token', text: '21 degrees ' }],
  [2, { type: 'token', text: 'today.' }],
  [2, { type: 'done', usage: { input_tokens: 4, output_tokens: 4 }, output: { text: 'It is 21 degrees today.' } }],
];

export function resumeV2Suite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`resume v2: snapshots, filters, the AI SDK (${engine})`, () => {
    const app = appForBlock(start, { HEARTBEAT_MS: '200' });
    const createJob = (input: Record<string, unknown>) => createEchoJob(app, input);
    /** A job written straight into the log (no worker runs it): the script above, up to `upTo` events. */
    const scriptedJob = async (upTo = SCRIPT.length) => {
      const id = newJobId();
      await app.app
        .get<JobStore>(JOB_STORE)
        .create(newJobRecord({ id, tenant: DEFAULT_TENANT, agent: 'scripted', input: {}, metadata: null }));
      const log = app.app.get<EventLog>(EVENT_LOG);
      for (const [attempt, event] of SCRIPT.slice(0, upTo)) await log.append(id, { event, attempt });
      return { id, stream_url: `/v1/jobs/${id}/stream` };
    };
    /** Events as the job's log holds them (the test client adds each frame's `id`). */
    const bare = (events: (JobEvent & { id?: string })[]): JobEvent[] =>
      events.map(({ id: _id, ...e }) => e as JobEvent);
    const wire = (jobId: string, events: JobEvent[]): JobSnapshot =>
      JSON.parse(JSON.stringify(toJobSnapshot(jobId, reduceJobEvents(bare(events)))));

    describe('snapshots', () => {
      it('at every cut: GET /snapshot?at= and ?snapshot=true, then the events after it reduce to the whole job', async () => {
        const job = await scriptedJob();
        const full = (await readAll(app.url + job.stream_url)).events();
        expect(full).toHaveLength(SCRIPT.length);
        const final = reduceJobEvents(bare(full));
        expect(final).toMatchObject({
          status: 'completed',
          attempt: 2,
          text: 'It is 21 degrees today.',
          thinking: 'Again, carefully.',
          open_tool_calls: [],
          pending_input: null,
        });
        const cursors = ['0', ...full.map((e) => e.id)];
        for (let k = 0; k <= full.length; k++) {
          const expected = wire(job.id, full.slice(0, k));
          const rest = await app.api(`/v1/jobs/${job.id}/snapshot?at=${encodeURIComponent(cursors[k]!)}`);
          expect(rest.status).toBe(200);
          expect(rest.body).toEqual({ ...expected, id: cursors[k] });

          // by header for odd cuts, by ?after= for even ones
          const s =
            k % 2
              ? await readAll(`${app.url}${job.stream_url}?snapshot=true`, {
                  headers: { 'Last-Event-ID': cursors[k]! },
                })
              : await readAll(`${app.url}${job.stream_url}?snapshot=true&after=${encodeURIComponent(cursors[k]!)}`);
          const items = s.items.filter((i) => i.kind === 'event');
          expect(items[0]).toMatchObject({ type: 'snapshot', id: cursors[k] });
          const snap = (items[0] as { event: unknown }).event as JobSnapshot;
          expect(snap).toEqual(expected);
          const after = s.events().slice(1);
          expect(after).toEqual(full.slice(k));
          expect(reduceJobEvents(bare(after), stateOfSnapshot(snap))).toEqual(final);
        }
        // the snapshot in the middle of the input request
        const waiting = (await app.api(`/v1/jobs/${job.id}/snapshot?at=${encodeURIComponent(full[16]!.id)}`))
          .body as JobSnapshot;
        expect(waiting).toMatchObject({
          status: 'waiting_for_input',
          attempt: 2,
          text: 'It is ',
          thinking: 'Again, carefully.',
          open_tool_calls: [{ call_id: 'c3', name: 'client.confirm', arguments: { message_length: 5 } }],
          pending_input: { type: 'input_required', request_id: 'req_1', kind: 'tool_results', seq: 16 },
        });
        // now (no at) = the end
        expect((await app.api(`/v1/jobs/${job.id}/snapshot`)).body).toEqual({
          ...wire(job.id, full),
          id: full[full.length - 1]!.id,
        });
        const metrics = await (await fetch(`${app.url}/metrics`)).text();
        expect(metrics).toMatch(/^jobstream_snapshot_cache_jobs [1-9]/m);
        expect(metrics).toMatch(/^jobstream_snapshot_events_read_total [1-9]/m);
      });

      it('of a running job: now, and a snapshot resume mid-stream, with exact text', async () => {
        const words = Array.from({ length: 30 }, (_, i) => `w${i} `).join('');
        const job = await createJob({ message: words, delay_ms: 20 });
        const first = await openSse(app.url + job.stream_url);
        await first.until((items) => items.filter((i) => i.kind === 'event' && i.event.type === 'token').length >= 5);
        first.close();
        const now = (await app.api(`/v1/jobs/${job.id}/snapshot`)).body as JobSnapshot & { id: string };
        expect(now.status).toBe('running');
        expect(words.startsWith(now.text)).toBe(true);
        const resumed = await readAll(`${app.url}${job.stream_url}?snapshot=true`, {
          headers: { 'Last-Event-ID': now.id },
        });
        const [snapItem, ...rest] = resumed.items.filter((i) => i.kind === 'event');
        expect(snapItem).toMatchObject({ type: 'snapshot', id: now.id });
        const snap = (snapItem as { event: unknown }).event as JobSnapshot;
        const { id: _id, ...nowData } = now;
        expect(snap).toEqual(nowData);
        const events = rest.map((i) => (i as { event: JobEvent }).event);
        expect(events[0]!.seq).toBe(now.seq + 1);
        expect(reduceJobEvents(events, stateOfSnapshot(snap)).text).toBe(words);
      });

      it('refuses bad input: snapshot=maybe, a foreign or future cursor, another tenant', async () => {
        const job = await scriptedJob(3);
        expect((await app.api(`${job.stream_url}?snapshot=maybe`)).body).toMatchObject({
          error: { code: 'invalid_request' },
        });
        expect((await app.api(`/v1/jobs/${job.id}/snapshot?at=99-99-zzzzzz`)).status).toBe(400);
        expect((await app.api(`/v1/jobs/${job.id}/snapshot?at=garbage`)).body).toMatchObject({
          error: { code: 'invalid_cursor' },
        });
        expect((await app.api(`/v1/jobs/${newJobId()}/snapshot`)).status).toBe(404);
      });
    });

    describe('filters', () => {
      it('sends only the asked types (and the terminal event) with global seq, and resumes exactly from every position', async () => {
        const job = await createJob({ message: 'one two three four five six seven eight', tool: true });
        const full = (await readAll(app.url + job.stream_url)).events();
        expect(full[full.length - 1]!.type).toBe('done');
        for (const types of ['token', 'tool_call_start,tool_call_end', 'status,token']) {
          const allowed = new Set([...types.split(','), 'done', 'error', 'cancelled']);
          const expected = full.filter((e) => allowed.has(e.type));
          const s = await readAll(`${app.url}${job.stream_url}?types=${types}`);
          expect(s.headers.get('x-jobstream-filter')).toBe(
            [
              'status',
              'token',
              'thinking',
              'tool_call_start',
              'tool_call_end',
              'attempt',
              'input_required',
              'input_received',
              'done',
              'error',
              'cancelled',
            ]
              .filter((t) => allowed.has(t))
              .join(','),
          );
          expect(s.events()).toEqual(expected);
          for (let k = 0; k < expected.length; k++) {
            const resumed = await readAll(`${app.url}${job.stream_url}?types=${types}`, {
              headers: { 'Last-Event-ID': expected[k]!.id },
            });
            expect(resumed.events()).toEqual(expected.slice(k + 1));
          }
          // /events pages of the filtered view: the same events, exact across pages
          const polled: JobEvent[] = [];
          let after = '0';
          for (let i = 0; i < 100; i++) {
            const r = await app.api(
              `/v1/jobs/${job.id}/events?types=${types}&limit=2&after=${encodeURIComponent(after)}`,
            );
            expect(r.status).toBe(200);
            expect(r.headers.get('x-jobstream-filter')).toBe(s.headers.get('x-jobstream-filter'));
            polled.push(...r.body.events);
            after = r.body.next_after;
            if (!r.body.has_more) break;
          }
          expect(polled).toEqual(expected);
        }
        // a snapshot with a filter: the snapshot, then the filtered events
        const withSnap = await readAll(
          `${app.url}${job.stream_url}?types=token&snapshot=true&after=${encodeURIComponent(full[3]!.id)}`,
        );
        expect(withSnap.events()[0]).toMatchObject({ type: 'snapshot', seq: 4 });
        expect(withSnap.events().slice(1)).toEqual(
          full.slice(4).filter((e) => e.type === 'token' || e.type === 'done'),
        );
      });

      it('validates types: unknown, empty, too long, and repeated parameters', async () => {
        const job = await scriptedJob(3);
        for (const q of ['types=token,bogus', 'types=', 'types=,', `types=${'token,'.repeat(200)}`, 'types=snapshot']) {
          const r = await app.api(`${job.stream_url}?${q}`);
          expect({ q, status: r.status, code: r.body?.error?.code }).toEqual({
            q,
            status: 400,
            code: 'invalid_request',
          });
          const e = await app.api(`/v1/jobs/${job.id}/events?${q}`);
          expect({ q, status: e.status }).toEqual({ q, status: 400 });
          expect(e.headers.get('x-jobstream-filter')).toBeNull();
        }
        const ok = await app.api(`/v1/jobs/${job.id}/events?types=thinking&types=%20token%20`);
        expect(ok.status).toBe(200);
        expect(ok.headers.get('x-jobstream-filter')).toBe('token,thinking,done,error,cancelled');
        expect(ok.body.events.map((e: JobEvent) => e.type)).toEqual(['thinking']);
        expect(ok.body.next_after).toBe(ok.body.events[0].id);
        expect(ok.body.has_more).toBe(false);
      });
    });

    describe('SDK', () => {
      const FAST = { initialDelayMs: 5, maxDelayMs: 50, maxRetries: 60 };

      it('createStream({ snapshot: true }) yields the snapshot at the cursor first, then the events after it', async () => {
        const job = await scriptedJob();
        const full = (await readAll(app.url + job.stream_url)).events();
        for (const k of [0, 5, 8, 16, full.length - 1]) {
          const items: JobStreamItem[] = [];
          const resumeAfter = k === 0 ? undefined : full[k - 1]!.id;
          for await (const item of createStream(job.id, { baseUrl: app.url, snapshot: true, resumeAfter }))
            items.push(item);
          expect(items[0]).toEqual(wire(job.id, full.slice(0, k)));
          expect(items.slice(1)).toEqual(bare(full.slice(k)));
        }
        const placed = await createClient({ baseUrl: app.url }).jobs.snapshot(job.id, { at: full[7]!.id });
        expect(placed).toEqual({ ...wire(job.id, full.slice(0, 8)), id: full[7]!.id });
      });

      it('types: only the asked types under connection cuts, each once, ending with the terminal event', async () => {
        const message = Array.from({ length: 30 }, (_, i) => `t${i} `).join('');
        const job = await createJob({ message, tool: true, delay_ms: 2 });
        const rnd = seededRandom(7);
        const proxy = await startCuttingProxy(app.url, () => 250 + Math.floor(rnd() * 700));
        try {
          const got: JobEvent[] = [];
          const stream = createStream(job.id, {
            baseUrl: proxy.url,
            types: ['token', 'tool_call_end'],
            reconnect: FAST,
          });
          for await (const e of stream) got.push(e);
          expect(stream.stats.reconnects).toBeGreaterThan(0);
          const full = bare((await readAll(app.url + job.stream_url)).events());
          expect(got).toEqual(full.filter((e) => ['token', 'tool_call_end', 'done'].includes(e.type)));
          expect(tokenText(got)).toBe(message);
        } finally {
          await proxy.close();
        }
      });

      it('subscribeJobStream({ snapshotAfterDisconnectMs }) skips the missed events with a snapshot and keeps the exact text', async () => {
        const message = Array.from({ length: 60 }, (_, i) => `s${i} `).join('');
        const job = await createJob({ message, delay_ms: 10 });
        // connections are cut after a few hundred bytes; a cut stream is "down long enough" at once (0 ms)
        const rnd = seededRandom(3);
        const proxy = await startCuttingProxy(app.url, () => 300 + Math.floor(rnd() * 600));
        try {
          const snapshots: JobSnapshot[] = [];
          const sub = subscribeJobStream(
            job.id,
            { onSnapshot: (snap) => snapshots.push(snap) },
            { baseUrl: proxy.url, snapshotAfterDisconnectMs: 0, reconnect: FAST },
          );
          const result = await sub.done;
          expect(result).toMatchObject({ outcome: 'completed', text: message, terminal: { type: 'done' } });
          expect(snapshots.length).toBeGreaterThan(0);
          for (const snap of snapshots) expect(message.startsWith(snap.text)).toBe(true);
        } finally {
          await proxy.close();
        }
      });

      it('a long disconnect from a finished job: the snapshot, then the terminal event alone', async () => {
        const job = await scriptedJob();
        const full = (await readAll(app.url + job.stream_url)).events();
        // the first connection is cut inside the first events; the next one is not
        const proxy = await startCuttingProxy(app.url, (n) => (n === 1 ? 700 : undefined));
        try {
          const items: JobStreamItem[] = [];
          const stream = createStream(job.id, { baseUrl: proxy.url, snapshotAfterDisconnectMs: 0, reconnect: FAST });
          for await (const item of stream) items.push(item);
          expect(stream.stats.snapshotJumps).toBe(1);
          const at = items.findIndex((i) => isSnapshot(i));
          expect(at).toBeGreaterThan(0);
          expect(items.slice(0, at)).toEqual(bare(full.slice(0, at)));
          expect(items[at]).toEqual(wire(job.id, full));
          expect(items.slice(at + 1)).toEqual(bare(full.slice(-1)));
        } finally {
          await proxy.close();
        }
      });
    });

    describe('AI SDK format', () => {
      it('is read by the ai package into the job text, reasoning and tool calls; the attempt restarts the message', async () => {
        const job = await scriptedJob();
        const url = `${app.url}${job.stream_url}?format=ai-sdk`;
        const res = await fetch(url);
        expect(res.headers.get('content-type')).toBe('text/event-stream');
        expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
        const body = await res.text();
        expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);

        const { final } = await readJobMessage(url);
        expect(final!.id).toBe(`${job.id}:2`);
        expect(textOf(final)).toBe('It is 21 degrees today.');
        expect(reasoningOf(final)).toBe('Again, carefully.');
        expect(toolPartsOf(final)).toEqual([
          {
            toolCallId: 'c2',
            toolName: 'search',
            state: 'output-available',
            input: { q: 'weather' },
            output: { temp: 21 },
          },
          {
            toolCallId: 'c3',
            toolName: 'client.confirm',
            state: 'output-available',
            input: { message_length: 5 },
            output: 'ok',
          },
        ]);
        // nothing of attempt 1 is left
        expect(JSON.stringify(final)).not.toContain('Hello');
        expect(final!.metadata).toMatchObject({
          job_id: job.id,
          attempt: 2,
          status: 'completed',
          usage: { input_tokens: 4, output_tokens: 4 },
        });
        const data = final!.parts.filter((p) => p.type === 'data-jobstream') as unknown as {
          id: string;
          data: JobEvent;
        }[];
        expect(data.find((p) => p.id === 'status')!.data).toMatchObject({ type: 'status', status: 'running' });
        expect(data.find((p) => p.id === 'input:req_1')!.data).toMatchObject({ type: 'input_received' });
        expect(data[data.length - 1]!.data).toMatchObject({ type: 'done' });
      });

      it("drives DefaultChatTransport's reconnect (useChat resume) against a running job through a cutting proxy: exact final text", async () => {
        const message = Array.from({ length: 40 }, (_, i) => `word${i} `).join('');
        const job = await createJob({ message, delay_ms: 15, tool: true });
        // each connection is cut after a few hundred bytes of response, until the 6th
        const proxy = await startCuttingProxy(app.url, (n) => (n < 6 ? 600 + n * 300 : undefined));
        try {
          const chat = new TestChat(jobTransport(`${proxy.url}${job.stream_url}?format=ai-sdk`));
          const seen: string[] = [];
          for (let i = 0; i < 20; i++) {
            await chat.resumeStream();
            const last = chat.messages[chat.messages.length - 1];
            seen.push(textOf(last));
            if (
              chat.status === 'ready' &&
              last?.metadata &&
              (last.metadata as { status?: string }).status === 'completed'
            )
              break;
          }
          expect(proxy.connections).toBeGreaterThanOrEqual(6);
          // one assistant message, replaced on every resume (never duplicated), ending with the exact text
          expect(chat.messages).toHaveLength(1);
          expect(chat.messages[0]!.id).toBe(job.id);
          expect(textOf(chat.messages[0])).toBe(message);
          expect(toolPartsOf(chat.messages[0])).toEqual([
            expect.objectContaining({
              toolName: 'echo.count_tokens',
              state: 'output-available',
              input: { message_length: message.length },
            }),
          ]);
          // the cut attempts saw growing prefixes of the same text, never a duplicated one
          for (const t of seen) expect(message.startsWith(t)).toBe(true);
        } finally {
          await proxy.close();
        }
        const ended = await app.api(`/v1/jobs/${job.id}`);
        expect(ended.body.status).toBe('completed');
        expect(tokenText((await readAll(app.url + job.stream_url)).events())).toBe(message);
      });

      it('refuses ai-sdk with snapshot, and an unknown format', async () => {
        const job = await scriptedJob(3);
        expect((await app.api(`${job.stream_url}?format=ai-sdk&snapshot=true`)).status).toBe(400);
        expect((await app.api(`${job.stream_url}?format=xml`)).body).toMatchObject({
          error: { code: 'invalid_request' },
        });
      });
    });
  });
}
