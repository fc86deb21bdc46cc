/**
 * The SSE stream, end to end through the real app: shared by the embedded e2e run and the JetStream+Redis run.
 */
import { describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts';
import type { LiveHub } from '@jobstream/event-log';
import { LIVE_HUB } from '../../src/jobs/jobs.constants.js';
import { SseConnections } from '../../src/sse/sse-connections.js';
import type { TestApp } from '../support/app.js';
import { appForBlock, createEchoJob } from '../support/tenant-app.js';
import { waitFor } from '../support/wait.js';
import { openSse, readAll, tokenText } from '../support/sse-client.js';

const MESSAGE = 'The quick brown fox jumps over the lazy dog, again and again. ';

export function streamSuite(engine: string, start: (env: Record<string, string>) => Promise<TestApp>): void {
  describe(`SSE stream (${engine})`, () => {
    // a job's live feed (and its hot-cache window) outlives its last client by HOT_CACHE_GRACE_MS (NATS engine)
    const app = appForBlock(start, { HEARTBEAT_MS: '200', HOT_CACHE_GRACE_MS: '200' });
    const createJob = (input: Record<string, unknown>) => createEchoJob(app, input);
    const expectDense = (events: JobEvent[], from = 1) => {
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + from));
    };

    it('streams a whole job: headers, retry, keepalive, dense events and the terminal event, then ends', async () => {
      const job = await createJob({ message: MESSAGE, repeat: 3 });
      const s = await readAll(app.url + job.stream_url, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
      expect(s.status).toBe(200);
      expect(s.headers.get('content-type')).toBe('text/event-stream');
      expect(s.headers.get('cache-control')).toBe('no-cache, no-transform');
      expect(s.headers.get('x-accel-buffering')).toBe('no');
      expect(s.headers.get('content-encoding')).toBeNull();
      expect(s.items[0]).toEqual({ kind: 'retry', ms: expect.any(Number) });
      expect(s.items[1]).toEqual({ kind: 'comment', text: 'keepalive' });
      const events = s.events();
      expectDense(events);
      expect(events[0]).toMatchObject({ type: 'status', status: 'queued', job_id: job.id, attempt: 1 });
      expect(tokenText(events)).toBe(MESSAGE.repeat(3));
      const last = events[events.length - 1]!;
      expect(last).toMatchObject({ type: 'done', output: { text: MESSAGE.repeat(3) }, usage: { output_tokens: 36 } });
      for (const e of events) {
        expect(new Date(e.ts).toISOString()).toBe(e.ts);
        expect((s.items.find((i) => i.kind === 'event' && i.event.seq === e.seq) as { type: string }).type).toBe(
          e.type,
        );
      }
      const got = await app.api(`/v1/jobs/${job.id}`);
      expect(got.body).toMatchObject({
        status: 'completed',
        last_event_id: last.id,
        usage: { input_tokens: 12, output_tokens: 36 },
      });
    });

    it('resumes a finished job from every position, by header and by ?after, with no gap and no duplicate', async () => {
      const job = await createJob({ message: 'one two three four five six seven eight', tool: true });
      const full = (await readAll(app.url + job.stream_url)).events();
      // 2 status, the tool call's 2 events, the 8 tokens (some may share an event: JetStream), done
      expect(full.length).toBeGreaterThanOrEqual(6);
      for (let k = 0; k < full.length; k++) {
        const byHeader = await readAll(app.url + job.stream_url, { headers: { 'Last-Event-ID': full[k]!.id } });
        expect(byHeader.events()).toEqual(full.slice(k + 1));
        const byQuery = await readAll(`${app.url}${job.stream_url}?after=${encodeURIComponent(full[k]!.id)}`);
        expect(byQuery.events()).toEqual(full.slice(k + 1));
      }
      // the header wins over ?after=
      const both = await readAll(`${app.url}${job.stream_url}?after=${full[1]!.id}`, {
        headers: { 'Last-Event-ID': full[5]!.id },
      });
      expect(both.events()).toEqual(full.slice(6));
      // ?after=0 is the start
      expect((await readAll(`${app.url}${job.stream_url}?after=0`)).events()).toEqual(full);
    });

    it('resumes a running job from every position: each client drops after k events and comes back', async () => {
      const words = Array.from({ length: 24 }, (_, i) => `w${i} `).join('');
      const job = await createJob({ message: words, delay_ms: 25 });
      const ks = [1, 2, 3, 5, 8, 13, 20];
      const results = await Promise.all(
        ks.map(async (k) => {
          const first = await openSse(app.url + job.stream_url);
          await first.until((items) => items.filter((i) => i.kind === 'event').length >= k);
          first.close();
          const seen = first.events().slice(0, k);
          const rest = await readAll(app.url + job.stream_url, {
            headers: { 'Last-Event-ID': seen[seen.length - 1]!.id },
          });
          return [...seen, ...rest.events()];
        }),
      );
      const reference = (await readAll(app.url + job.stream_url)).events();
      expect(reference[reference.length - 1]!.type).toBe('done');
      for (const r of results) expect(r).toEqual(reference);
      expect(tokenText(reference)).toBe(words);
    });

    it('serves many concurrent clients of one job through one live subscription', async () => {
      // the job parks on a question after 2 tokens, so the hub is looked at while every client is surely live,
      // however slow the machine (was: right after the first token, which a loaded machine could let the job outrun)
      const hub = app.app.get<LiveHub<string>>(LIVE_HUB);
      const job = await createJob({ message: MESSAGE, repeat: 2, delay_ms: 20, ask: { after: 2 } });
      const clients = await Promise.all(
        Array.from({ length: 40 }, () => openSse(app.url + job.stream_url, { retryUnavailable: 5 })),
      );
      const asked = (items: { kind: string; event?: JobEvent }[]) =>
        items.some((i) => i.kind === 'event' && i.event!.type === 'input_required');
      try {
        await Promise.all(clients.map((c) => c.until(asked, 45_000)));
      } catch (err) {
        // leave nothing behind for the next test (a parked job and 40 sinks would fail its hub check too)
        for (const c of clients) c.close();
        await app.api(`/v1/jobs/${job.id}/cancel`, { body: {} });
        throw err;
      }
      // one feed for the job, all 40 clients on it (earlier tests' feeds may still be in their grace: not counted)
      expect(hub.feedOf(job.id)).toEqual({ sinks: 40 });
      const request = clients[0]!.events().find((e) => e.type === 'input_required') as JobEvent<'input_required'>;
      expect(
        (
          await app.api(`/v1/jobs/${job.id}/input`, {
            body: { request_id: request.request_id, input: { approved: true } },
          })
        ).status,
      ).toBe(202);
      await Promise.all(clients.map((c) => c.ended));
      const first = clients[0]!.events();
      expectDense(first);
      expect(first[first.length - 1]!.type).toBe('done');
      for (const c of clients) expect(c.events()).toEqual(first);
      // the feed's grace after its last client
      await waitFor(() => hub.stats().jobs === 0, {
        timeoutMs: 20_000,
        message: () => `the hub to drop the job's feed (${JSON.stringify(hub.stats())})`,
      });
      expect(hub.stats()).toEqual({ jobs: 0, sinks: 0 });
    }, 90_000);

    it('sends keepalive comments from the first moment, before the first token', async () => {
      // the job waits for an answer before its first token; the answer is sent once three keepalives have arrived
      const job = await createJob({ message: 'late token', ask: { after: 0 } });
      const s = await openSse(app.url + job.stream_url);
      await s.until(
        (items) =>
          items.some((i) => i.kind === 'event' && i.event.type === 'input_required') &&
          items.filter((i) => i.kind === 'comment' && i.text === 'keepalive').length >= 4,
        20_000,
      );
      const request = s.events().find((e) => e.type === 'input_required') as JobEvent<'input_required'>;
      expect(
        (
          await app.api(`/v1/jobs/${job.id}/input`, {
            body: { request_id: request.request_id, input: { approved: true } },
          })
        ).status,
      ).toBe(202);
      await s.until((items) => items.some((i) => i.kind === 'event' && i.event.type === 'token'), 20_000);
      s.close();
      const firstToken = s.items.findIndex((i) => i.kind === 'event' && i.event.type === 'token');
      const before = s.items.slice(0, firstToken).filter((i) => i.kind === 'comment' && i.text === 'keepalive');
      expect(s.items[1]).toEqual({ kind: 'comment', text: 'keepalive' });
      expect(before.length).toBeGreaterThanOrEqual(3);
    });

    it('cancels mid-stream: the stream ends with cancelled carrying the usage so far', async () => {
      // 60 s between tokens: the job is surely still running when the cancel arrives, however slow the machine
      const job = await createJob({ message: MESSAGE, repeat: 20, delay_ms: 60_000 });
      const s = await openSse(app.url + job.stream_url);
      await s.until((items) => items.filter((i) => i.kind === 'event' && i.event.type === 'token').length >= 1);
      const c = await app.api(`/v1/jobs/${job.id}/cancel`, { body: { reason: 'user pressed stop' } });
      expect(c.status).toBe(202);
      expect(await s.ended).toBe('ended');
      const events = s.events();
      expectDense(events);
      const last = events[events.length - 1]!;
      expect(last).toMatchObject({ type: 'cancelled', reason: 'user pressed stop' });
      const tokens = events.filter((e) => e.type === 'token').length;
      expect(tokens).toBeLessThan(240);
      expect((last as JobEvent<'cancelled'>).usage.output_tokens).toBe(tokens);
      const after = await app.api(`/v1/jobs/${job.id}`);
      expect(after.body).toMatchObject({ status: 'cancelled', usage: { output_tokens: tokens } });
      const again = await app.api(`/v1/jobs/${job.id}/cancel`, { body: {} });
      expect(again.status).toBe(202);
      expect(again.body.status).toBe('cancelled');
    });

    it('frees every listener, subscription and connection when clients drop, and the job runs on', async () => {
      // the job parks on a question after its first token: its streams cannot end on their own while the test looks
      const job = await createJob({ message: MESSAGE, ask: { after: 1 } });
      const hub = app.app.get<LiveHub<string>>(LIVE_HUB);
      const conns = app.app.get(SseConnections);
      const baseOpen = conns.stats.open;
      const clients = await Promise.all(Array.from({ length: 10 }, () => openSse(app.url + job.stream_url)));
      await Promise.all(
        clients.map((c) =>
          c.until((items) => items.some((i) => i.kind === 'event' && i.event.type === 'input_required')),
        ),
      );
      expect(conns.stats.open).toBe(baseOpen + 10);
      const request = clients[0]!.events().find((e) => e.type === 'input_required') as JobEvent<'input_required'>;
      for (const c of clients) c.close();
      // the hub keeps a job's feed for HOT_CACHE_GRACE_MS after its last client: wait for that too
      await waitFor(() => hub.stats().jobs === 0 && hub.stats().sinks === 0 && conns.stats.open === baseOpen, {
        timeoutMs: 20_000,
        message: () =>
          `the dropped streams to be freed (hub ${JSON.stringify(hub.stats())}, open ${conns.stats.open - baseOpen} above the base)`,
      });
      expect(hub.stats()).toEqual({ jobs: 0, sinks: 0 });
      expect(conns.stats.open).toBe(baseOpen);
      expect(
        (
          await app.api(`/v1/jobs/${job.id}/input`, {
            body: { request_id: request.request_id, input: { approved: true } },
          })
        ).status,
      ).toBe(202);
      const done = await app.api(`/v1/jobs/${job.id}/wait?timeout_s=20`);
      expect(done.body.status).toBe('completed');
      const replay = (await readAll(app.url + job.stream_url)).events();
      expect(tokenText(replay)).toBe(MESSAGE);
    });

    it('ends a stream opened at the terminal event at once, and refuses bad cursors before streaming', async () => {
      const job = await createJob({ message: 'a b' });
      const full = (await readAll(app.url + job.stream_url)).events();
      const atEnd = await readAll(app.url + job.stream_url, {
        headers: { 'Last-Event-ID': full[full.length - 1]!.id },
      });
      expect(atEnd.status).toBe(200);
      expect(atEnd.events()).toEqual([]);
      const other = await createJob({ message: 'x' });
      const foreign = await openSse(app.url + other.stream_url, { headers: { 'Last-Event-ID': full[1]!.id } });
      expect(foreign.status).toBe(400);
      expect(foreign.body).toMatchObject({ error: { code: 'invalid_cursor' } });
      const ahead = full[1]!.id.replace(/^\d+/, '999');
      const a = await openSse(app.url + job.stream_url, { headers: { 'Last-Event-ID': ahead } });
      expect(a.status).toBe(400);
      const junk = await openSse(`${app.url}${job.stream_url}?after=not-a-cursor`);
      expect(junk.status).toBe(400);
      expect(junk.body).toMatchObject({ error: { code: 'invalid_cursor' } });
    });

    it('reports failures as a terminal error event', async () => {
      const job = await createJob({ message: 'a b c d', fail_after: 2 });
      const events = (await readAll(app.url + job.stream_url)).events();
      // two tokens of text (one event, or two: tokens that come while an append is in flight share one)
      const types = events.map((e) => e.type).filter((t, i, all) => t !== 'token' || all[i - 1] !== 'token');
      expect(types).toEqual(['status', 'status', 'token', 'error']);
      expect(events.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe('a b ');
      expect(events.at(-1)).toMatchObject({ code: 'agent_failed', retryable: false, usage: { output_tokens: 2 } });
      expect((await app.api(`/v1/jobs/${job.id}`)).body).toMatchObject({
        status: 'failed',
        error: { code: 'agent_failed' },
      });
    });
  });
}
