/**
 * The playground in a real browser: playwright-core driving Debian's Chromium (no download, no outside network).
 * Starts an echo job from the page, drops the connection mid-stream, and checks that the resumed stream completes
 * the output exactly: no gap, no duplicate. Fails (never skips) when Chromium is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'playground-key-0001';
const MESSAGE =
  'Streams survive dropped connections: every token arrives exactly once, in order, even when the client ' +
  'reconnects halfway through and resumes from the last cursor it saw.';

function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with "apt-get update && apt-get install -y chromium" (.ci/run does this)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const text = (page: Page, id: string) => page.getByTestId(id).textContent();
/** Waits until the element's text is one of `values` (polling in the page, so short states are not missed). */
const waitText = (page: Page, id: string, values: string[], timeout = 15_000) =>
  page.waitForFunction(
    ([sel, vs]) => vs.includes(document.querySelector(sel)?.textContent ?? ''),
    [`[data-testid="${id}"]`, values] as const,
    { timeout },
  );

/** Watches a page for anything it must not do: requests elsewhere, script errors, CSP violations. */
function watch(page: Page, origin: string) {
  const foreign: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(origin + '/') && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return { foreign, problems };
}

describe('playground (Chromium)', () => {
  let browser: Browser;
  let app: TestApp;
  beforeAll(async () => {
    browser = await launch();
    app = await startTestApp({ API_KEYS: `acme:${KEY}` });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('serves one self-contained page at / without a key, under a strict CSP', async () => {
    const r = await fetch(app.url + '/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await r.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\//);
  });

  it('streams a job, drops and resumes from the last cursor, and ends with exactly the message', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const seen = watch(page, app.url);
    await page.goto(app.url + '/');
    await waitText(page, 'auth', ['this server needs an API key']);

    await page.getByTestId('api-key').fill(KEY);
    await page.getByTestId('message').fill(MESSAGE);
    await page.getByTestId('delay').fill('150');
    await page.getByTestId('start').click();

    // a few tokens in, drop the connection
    await page.waitForFunction(() => (document.querySelector('[data-testid="output"]')?.textContent ?? '').split(/\s+/).filter(Boolean).length >= 4);
    await page.getByTestId('drop').click();
    await waitText(page, 'connections', ['2']);
    const resumedAfter = await text(page, 'resume-cursor');
    expect(resumedAfter).toMatch(/^\S+$/);
    // live again (or, on a very slow machine, already through the replay to the end)
    await waitText(page, 'status', ['streaming', 'done', 'error', 'cancelled', 'failed']);
    await page.screenshot({ path: join(tmpdir(), 'jobstream-playground-resumed.png'), fullPage: true });

    await waitText(page, 'status', ['done', 'error', 'cancelled', 'failed'], 20_000);
    await page.screenshot({ path: join(tmpdir(), 'jobstream-playground-done.png'), fullPage: true });
    expect(await text(page, 'status')).toBe('done');
    expect(await text(page, 'output')).toBe(MESSAGE);
    expect(await text(page, 'seq-check')).toMatch(/^ok \(\d+ events, dense\)$/);

    // the events table: dense seqs, unique ids, and the resume started right after the cursor shown
    const rows = await page.getByTestId('events').locator('tr').evaluateAll((trs) =>
      trs.map((tr) => ({ sep: tr.classList.contains('sep'), id: (tr as HTMLElement).dataset.id ?? null, seq: Number((tr as HTMLElement).dataset.seq) })),
    );
    const events = rows.filter((r) => !r.sep);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const sepAt = rows.findIndex((r) => r.sep);
    expect(sepAt).toBeGreaterThan(0);
    expect(rows[sepAt - 1]!.id).toBe(resumedAfter);
    expect(rows.length).toBeGreaterThan(sepAt + 1); // events arrived after the resume

    // the page agrees with the API
    const job = await app.api(`/v1/jobs/${await text(page, 'job-id')}`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(job.body).toMatchObject({ status: 'completed', last_event_id: events[events.length - 1]!.id });

    expect(seen.foreign).toEqual([]);
    expect(seen.problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('v1.1: shows an approval card when the job asks, and the job goes on once approved', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const seen = watch(page, app.url);
    await page.goto(app.url + '/');
    await page.getByTestId('api-key').fill(KEY);
    await page.getByTestId('message').fill('one two three four five six');
    await page.getByTestId('delay').fill('0');
    await page.getByTestId('interactive').selectOption('ask');
    await page.getByTestId('start').click();
    await page.getByTestId('approve').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await text(page, 'ask-kind')).toBe('approval');
    expect(await text(page, 'ask-prompt')).toBe('Go on with the rest of the message?');
    expect(await text(page, 'output')).toBe('one two three ');
    expect(await page.getByTestId('send-results').isVisible()).toBe(false);
    const job = await app.api(`/v1/jobs/${await text(page, 'job-id')}`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(job.body.status).toBe('waiting_for_input');
    await page.screenshot({ path: join(tmpdir(), 'jobstream-playground-approval.png'), fullPage: true });
    await page.getByTestId('approve').click();
    await waitText(page, 'status', ['done', 'error', 'cancelled', 'failed']);
    expect(await text(page, 'status')).toBe('done');
    expect(await text(page, 'output')).toBe('one two three four five six');
    expect(await page.getByTestId('ask').isVisible()).toBe(false);
    expect(await text(page, 'seq-check')).toMatch(/^ok \(\d+ events, dense\)$/);
    expect(seen.foreign).toEqual([]);
    expect(seen.problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('v1.1: shows a tool-result form for a client-side tool and sends the result', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const seen = watch(page, app.url);
    await page.goto(app.url + '/');
    await page.getByTestId('api-key').fill(KEY);
    await page.getByTestId('message').fill('tool then text');
    await page.getByTestId('delay').fill('0');
    await page.getByTestId('interactive').selectOption('client_tool');
    await page.getByTestId('start').click();
    await page.getByTestId('send-results').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await text(page, 'ask-kind')).toBe('tool_results');
    expect(await page.getByTestId('approve').isVisible()).toBe(false);
    await page.getByTestId('tool-result').fill('{"clipboard":"hello from the browser"}');
    await page.getByTestId('send-results').click();
    await waitText(page, 'status', ['done', 'error', 'cancelled', 'failed']);
    expect(await text(page, 'status')).toBe('done');
    expect(await text(page, 'output')).toBe('tool then text');
    const id = await text(page, 'job-id');
    const events = await app.api(`/v1/jobs/${id}/events?limit=100`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(events.body.events.find((e: { type: string }) => e.type === 'tool_call_end')).toMatchObject({
      name: 'read_clipboard',
      result: { clipboard: 'hello from the browser' },
    });
    expect(seen.problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows the API error when the key is wrong', async () => {
    const page = await browser.newPage();
    await page.goto(app.url + '/');
    await page.getByTestId('api-key').fill('not-the-key-123');
    await page.getByTestId('start').click();
    await waitText(page, 'status', ['failed']);
    expect(await text(page, 'note')).toBe('Could not create the job: unauthorized: invalid API key');
    await page.close();
  });
});

describe('playground with auth off (Chromium)', () => {
  let browser: Browser;
  let app: TestApp;
  beforeAll(async () => {
    browser = await launch();
    app = await startTestApp({});
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('needs no key: streams a job to done', async () => {
    const page = await browser.newPage();
    const seen = watch(page, app.url);
    await page.goto(app.url + '/');
    await waitText(page, 'auth', ['auth is off: no key needed']);
    await page.getByTestId('message').fill('no key, still a token stream');
    await page.getByTestId('delay').fill('0');
    await page.getByTestId('start').click();
    await waitText(page, 'status', ['done', 'error', 'cancelled', 'failed']);
    expect(await text(page, 'status')).toBe('done');
    expect(await text(page, 'output')).toBe('no key, still a token stream');
    expect(seen.problems).toEqual([]);
    await page.close();
  }, 30_000);

  it('is left out with PLAYGROUND=false', async () => {
    const off = await startTestApp({ PLAYGROUND: 'false' });
    try {
      const r = await off.api('/');
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    } finally {
      await off.close();
    }
  });
});
