/**
 * The playground in a real browser: playwright-core driving Debian's Chromium (no download, no outside network).
 * Starts an echo job from the page, drops the connection mid-stream, and checks that the resumed stream completes
 * the output exactly: no gap, no duplicate. Every page is watched for CSP violations (the `securitypolicyviolation`
 * event and the console) and must have none. Fails (never skips) when Chromium is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EVENT_TYPES, TERMINAL_EVENT_TYPES } from '@jobstream/contracts';
import { startTestApp, type TestApp } from './support/app.js';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'playground-key-0001';
const MESSAGE =
  'Streams survive dropped connections: every token arrives exactly once, in order, even when the client ' +
  'reconnects halfway through and resumes from the last cursor it saw.';

function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install it with "apt-get update && apt-get install -y chromium" (.ci/run does this)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
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

declare global {
  interface Window {
    __cspViolations?: string[];
  }
}

/**
 * Watches a page for anything it must not do: requests elsewhere, script errors, failed subresources, CSP
 * violations (reported by the document's `securitypolicyviolation` event, registered before any of the page's own
 * code runs, and by the console), a subresource refused for its SRI hash. `problems()` reads them all.
 */
async function watch(page: Page, origin: string) {
  const foreign: string[] = [];
  const seen: string[] = [];
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations!.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(origin + '/') && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  page.on('pageerror', (e) => seen.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to|integrity/i.test(m.text())) seen.push(`console: ${m.text()}`);
  });
  const violations = async () =>
    (await page.evaluate(() => window.__cspViolations ?? ['the violation listener is missing'])).map(
      (v) => `CSP: ${v}`,
    );
  return { foreign, problems: async () => [...seen, ...(await violations())] };
}

const sri = (body: string) => `sha384-${createHash('sha384').update(body, 'utf8').digest('base64')}`;

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

  it('serves the page at / and its script and style under /playground/ without a key, under a strict CSP', async () => {
    const r = await fetch(app.url + '/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = r.headers.get('content-security-policy') ?? '';
    const directives = Object.fromEntries(
      csp.split(/\s*;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]),
    );
    expect(directives).toEqual({
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'self'",
      'img-src': "'self' data:",
      'base-uri': "'none'",
      'form-action': "'none'",
      'frame-ancestors': "'none'",
    });
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await r.text();
    // no inline code: no <style>, no style="" or on…="" attributes; every <script> is either the page's file or data
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|javascript:|https?:\/\//i);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim());
    expect(scripts).toEqual([
      'type="application/json" id="jobstream-contracts"',
      expect.stringMatching(/^src="\/playground\/playground\.js" integrity="sha384-/),
    ]);
    expect(html).not.toMatch(/\{\{|\}\}/); // every slot of the template filled

    // the two files, served with their types, pinned by SRI hashes that match what is served
    for (const [path, type] of [
      ['/playground/playground.js', 'text/javascript; charset=utf-8'],
      ['/playground/playground.css', 'text/css; charset=utf-8'],
    ] as const) {
      const f = await fetch(app.url + path);
      expect([path, f.status, f.headers.get('content-type'), f.headers.get('x-content-type-options')]).toEqual([
        path,
        200,
        type,
        'nosniff',
      ]);
      const body = await f.text();
      expect(html).toContain(`${path.endsWith('.js') ? 'src' : 'href'}="${path}" integrity="${sri(body)}"`);
    }
  });

  it('knows exactly the event types of the contracts (no hand-copied list)', async () => {
    const html = await (await fetch(app.url + '/')).text();
    const block = /<script type="application\/json" id="jobstream-contracts">([^<]*)<\/script>/.exec(html);
    expect(JSON.parse(block![1]!)).toEqual({
      event_types: [...EVENT_TYPES],
      terminal_event_types: [...TERMINAL_EVENT_TYPES],
    });
    // …and the script listens for the list it was given, not one of its own
    const page = await browser.newPage();
    const seen = await watch(page, app.url);
    await page.goto(app.url + '/');
    expect(await text(page, 'event-types')).toBe(EVENT_TYPES.join(' · '));
    const js = await (await fetch(app.url + '/playground/playground.js')).text();
    expect(js).not.toMatch(/\[\s*'status',\s*'token'/);
    expect(await seen.problems()).toEqual([]);
    await page.close();
  });

  it('reports a CSP violation when inline code is tried (so the watch above can fail), and blocks it', async () => {
    const page = await browser.newPage();
    const seen = await watch(page, app.url);
    await page.goto(app.url + '/');
    await page.getByTestId('start').waitFor();
    expect(await seen.problems()).toEqual([]);
    const ran = await page.evaluate(() => {
      const w = window as unknown as { inlineRan?: boolean };
      const s = document.createElement('script');
      s.textContent = 'window.inlineRan = true';
      document.body.appendChild(s);
      const st = document.createElement('style');
      st.textContent = 'body { background: red }';
      document.head.appendChild(st);
      return w.inlineRan === true;
    });
    expect(ran).toBe(false);
    await page.waitForFunction(() => (window.__cspViolations ?? []).length >= 2);
    const problems = await seen.problems();
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^CSP: script-src-elem blocked inline/),
        expect.stringMatching(/^CSP: style-src-elem blocked inline/),
      ]),
    );
    await page.close();
  });

  it('streams a job, drops and resumes from the last cursor, and ends with exactly the message', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const seen = await watch(page, app.url);
    await page.goto(app.url + '/');
    await waitText(page, 'auth', ['this server needs an API key']);

    await page.getByTestId('api-key').fill(KEY);
    await page.getByTestId('message').fill(MESSAGE);
    await page.getByTestId('delay').fill('150');
    await page.getByTestId('start').click();

    // a few tokens in, drop the connection
    await page.waitForFunction(
      () =>
        (document.querySelector('[data-testid="output"]')?.textContent ?? '').split(/\s+/).filter(Boolean).length >= 4,
    );
    await page.getByTestId('drop').click();
    await waitText(page, 'connections', ['2']);
    const resumedAfter = await text(page, 'resume-cursor');
    expect(resumedAfter).toMatch(/^\S+$/);
    // live again (or, on a very slow machine, already through the replay to the end)
    await waitText(page, 'status', ['streaming', 'done', 'error', 'cancelled', 'not created', 'not connected']);
    await page.screenshot({ path: join(tmpdir(), 'jobstream-playground-resumed.png'), fullPage: true });

    await waitText(page, 'status', ['done', 'error', 'cancelled', 'not created', 'not connected'], 20_000);
    await page.screenshot({ path: join(tmpdir(), 'jobstream-playground-done.png'), fullPage: true });
    expect(await text(page, 'status')).toBe('done');
    expect(await text(page, 'output')).toBe(MESSAGE);
    expect(await text(page, 'seq-check')).toMatch(/^ok \(\d+ events, dense\)$/);

    // the events table: dense seqs, unique ids, and the resume started right after the cursor shown
    const rows = await page
      .getByTestId('events')
      .locator('tr')
      .evaluateAll((trs) =>
        trs.map((tr) => ({
          sep: tr.classList.contains('sep'),
          id: (tr as HTMLElement).dataset.id ?? null,
          seq: Number((tr as HTMLElement).dataset.seq),
        })),
      );
    const events = rows.filter((r) => !r.sep);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const sepAt = rows.findIndex((r) => r.sep);
    expect(sepAt).toBeGreaterThan(0);
    expect(rows[sepAt - 1]!.id).toBe(resumedAfter);
    expect(rows.length).toBeGreaterThan(sepAt + 1); // events arrived after the resume

    // the page agrees with the API
    const job = await app.api(`/v1/jobs/${await text(page, 'job-id')}`, {
      headers: { Authorization: `Bearer ${KEY}` },
    });
    expect(job.body).toMatchObject({ status: 'completed', last_event_id: events[events.length - 1]!.id });

    expect(seen.foreign).toEqual([]);
    expect(await seen.problems()).toEqual([]);
    await page.close();
  }, 60_000);

  it('v1.1: shows an approval card when the job asks, and the job goes on once approved', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const seen = await watch(page, app.url);
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
    const job = await app.api(`/v1/jobs/${await text(page, 'job-id')}`, {
      headers: { Authorization: `Bearer ${KEY}` },
    });
    expect(job.body.status).toBe('waiting_for_input');
    await page.screenshot({ path: join(tmpdir(), 'jobstream-playground-approval.png'), fullPage: true });
    await page.getByTestId('approve').click();
    await waitText(page, 'status', ['done', 'error', 'cancelled', 'not created', 'not connected']);
    expect(await text(page, 'status')).toBe('done');
    expect(await text(page, 'output')).toBe('one two three four five six');
    expect(await page.getByTestId('ask').isVisible()).toBe(false);
    expect(await text(page, 'seq-check')).toMatch(/^ok \(\d+ events, dense\)$/);
    expect(seen.foreign).toEqual([]);
    expect(await seen.problems()).toEqual([]);
    await page.close();
  }, 60_000);

  it('v1.1: shows a tool-result form for a client-side tool and sends the result', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const seen = await watch(page, app.url);
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
    await waitText(page, 'status', ['done', 'error', 'cancelled', 'not created', 'not connected']);
    expect(await text(page, 'status')).toBe('done');
    expect(await text(page, 'output')).toBe('tool then text');
    const id = await text(page, 'job-id');
    const events = await app.api(`/v1/jobs/${id}/events?limit=100`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(events.body.events.find((e: { type: string }) => e.type === 'tool_call_end')).toMatchObject({
      name: 'read_clipboard',
      result: { clipboard: 'hello from the browser' },
    });
    expect(await seen.problems()).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows the API error when the key is wrong', async () => {
    const page = await browser.newPage();
    await page.goto(app.url + '/');
    await page.getByTestId('api-key').fill('not-the-key-123');
    await page.getByTestId('start').click();
    // no job was created: the pill says why, not "failed" (which would read as a job that failed)
    await waitText(page, 'status', ['key refused']);
    expect(await text(page, 'note')).toBe('Could not create the job: unauthorized: invalid API key');
    expect(await text(page, 'job-id')).toBe('—');
    await page.close();
  });

  it('shows every "the job asks" option whole, on a wide and on a phone-sized screen', async () => {
    for (const width of [1280, 400]) {
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      await page.goto(app.url + '/');
      // each option's text, in the select's own font, against the room the select gives it (padding and arrow off)
      const cut = await page.evaluate(() => {
        const select = document.querySelector<HTMLSelectElement>('[data-testid="interactive"]')!;
        const style = getComputedStyle(select);
        const ctx = document.createElement('canvas').getContext('2d')!;
        ctx.font = style.font;
        const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 24;
        return [...select.options]
          .filter((o) => ctx.measureText(o.text).width > room)
          .map((o) => `${o.text} (${Math.ceil(ctx.measureText(o.text).width)} px > ${Math.floor(room)} px)`);
      });
      expect([width, cut]).toEqual([width, []]);
      await page.close();
    }
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
    const seen = await watch(page, app.url);
    await page.goto(app.url + '/');
    await waitText(page, 'auth', ['auth is off: no key needed']);
    await page.getByTestId('message').fill('no key, still a token stream');
    await page.getByTestId('delay').fill('0');
    await page.getByTestId('start').click();
    await waitText(page, 'status', ['done', 'error', 'cancelled', 'not created', 'not connected']);
    expect(await text(page, 'status')).toBe('done');
    expect(await text(page, 'output')).toBe('no key, still a token stream');
    expect(await seen.problems()).toEqual([]);
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
