/**
 * Pages are bounded in bytes as well as in events: `/events` of a job with large events returns about a megabyte
 * per page (at least one event), says `has_more`, and paging with `next_after` still yields every event once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EVENTS_PAGE_BYTES } from '../src/jobs/jobs.service.js';
import { startTestApp, type TestApp } from './support/app.js';

describe('byte-bounded /events pages', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ RATE_LIMIT_CREATE_PER_MIN: '0', MAX_BODY_BYTES: String(2 * 1024 * 1024) });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('ends a page at its byte bound, and pages through the whole job exactly', async () => {
    const token = 'b'.repeat(99_999) + ' ';
    const message = token.repeat(5); // 5 tokens of 100 KB; × 10 = 50 token events, ~5 MB
    const created = await app.api('/v1/jobs', {
      body: { agent: 'echo', input: { message, repeat: 10, fail_after: 50 } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const ended = await app.api(`/v1/jobs/${id}/wait?timeout_s=30`);
    expect(ended.body.status).toBe('failed'); // fail_after: no `done` carrying the whole text

    const first = await app.api(`/v1/jobs/${id}/events?limit=1000`);
    expect(first.status).toBe(200);
    const firstBytes = (first.body.events as unknown[]).reduce<number>((n, e) => n + JSON.stringify(e).length, 0);
    expect(first.body.events.length).toBeLessThan(20); // not all 52 events at once
    expect(firstBytes).toBeLessThan(EVENTS_PAGE_BYTES + 2 * 100_500);
    expect(first.body.has_more).toBe(true);

    const seqs: number[] = [];
    let text = 0;
    let after: string | null = null;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(20);
      const q: string = after ? `&after=${encodeURIComponent(after)}` : '';
      const page = await app.api(`/v1/jobs/${id}/events?limit=1000${q}`);
      expect(page.status).toBe(200);
      for (const e of page.body.events as { seq: number; type: string; text?: string }[]) {
        seqs.push(e.seq);
        if (e.type === 'token') text += e.text!.length;
      }
      after = page.body.next_after;
      if (!page.body.has_more) break;
    }
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(text).toBe(message.length * 10);

    // a filtered page is bounded the same way
    const tokens = await app.api(`/v1/jobs/${id}/events?limit=1000&types=token`);
    expect(tokens.status).toBe(200);
    expect(tokens.body.events.length).toBeLessThan(20);
    expect(tokens.body.has_more).toBe(true);
  });
});
