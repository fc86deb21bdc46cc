/**
 * LOG_FORMAT=pretty through the real app, into a stream that is not a terminal: human-readable lines (pino-pretty),
 * no JSON, no colours, and the same redaction as the JSON format — no key, stream token, share token or
 * idempotency key in any line.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { Writable } from 'node:stream';
import { startApp, type RunningApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config/config.js';
import { hashKey } from '../src/config/key-hash.js';
import { readAll } from './support/sse-client.js';

const KEY = 'key-acme-pretty-secret-0001';

describe('pretty logs (LOG_FORMAT=pretty)', () => {
  let app: RunningApp;
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });

  beforeAll(async () => {
    const config = loadConfig(
      { HOST: '127.0.0.1', LOG_LEVEL: 'info', LOG_FORMAT: 'pretty', API_KEYS: `acme:${KEY}` },
      hashKey,
    );
    app = await startApp(config, { port: 0, logDestination: sink });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('writes readable lines with the request, its id, tenant and job — and redacts every secret', async () => {
    const auth = { Authorization: `Bearer ${KEY}` };
    const created = await fetch(app.url + '/v1/jobs', {
      method: 'POST',
      headers: {
        ...auth,
        'Content-Type': 'application/json',
        'Idempotency-Key': 'idem-pretty-777',
        'X-Request-Id': 'req-pretty-1',
      },
      body: JSON.stringify({ agent: 'echo', input: { message: 'a b c' } }),
    });
    expect(created.status).toBe(201);
    const job = (await created.json()) as { id: string; stream_url: string };
    const token = (await (
      await fetch(`${app.url}/v1/jobs/${job.id}/stream-tokens`, { method: 'POST', headers: auth })
    ).json()) as { token: string };
    const s = await readAll(`${app.url}${job.stream_url}?access_token=${token.token}`, {
      headers: { 'X-Request-Id': 'req-pretty-2' },
    });
    expect(s.events().length).toBeGreaterThan(3);
    const share = (await (
      await fetch(`${app.url}/v1/jobs/${job.id}/shares`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: '{}',
      })
    ).json()) as { token: string; job_url: string };
    expect((await fetch(`${app.url}${share.job_url}`)).status).toBe(200);
    expect(
      (await fetch(`${app.url}/v1/jobs`, { headers: { Authorization: 'Bearer wrong-key-pretty-99' } })).status,
    ).toBe(401);

    // readable, not JSON, not coloured
    expect(raw.length).toBeGreaterThan(5);
    for (const l of raw) expect([l, l.startsWith('{')]).toEqual([l, false]);
    expect(raw.join('\n')).not.toContain('\u001b[');
    const createLine = raw.find((l) => l.includes('POST /v1/jobs 201'));
    expect(createLine).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: POST \/v1\/jobs 201 \{.*"req_id":"req-pretty-1"/);
    expect(createLine).toContain(`"job_id":"${job.id}"`);
    expect(createLine).toContain('"tenant":"acme"');
    expect(raw.find((l) => l.includes('[Jobs] job created'))).toContain(`"job_id":"${job.id}"`);
    expect(raw.find((l) => l.includes('"req_id":"req-pretty-2"'))).toContain(
      `GET ${job.stream_url}?access_token=[redacted] 200`,
    );
    expect(raw.find((l) => l.includes('WARN: GET /v1/jobs 401'))).toBeDefined();

    // the secrets: nowhere
    const all = raw.join('\n');
    for (const secret of [
      KEY,
      'idem-pretty-777',
      token.token,
      token.token.split('.').pop()!,
      share.token,
      'wrong-key-pretty-99',
    ]) {
      expect([secret, all.includes(secret)]).toEqual([secret, false]);
    }
  });
});
