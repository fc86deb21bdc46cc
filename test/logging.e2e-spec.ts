/**
 * Structured logs through the real app, read from the pino destination: JSON lines, a request id on each request
 * line, job id and tenant as fields, secrets redacted, no line per SSE frame.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { Writable } from 'node:stream';
import { startApp, type RunningApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config/config.js';
import { hashKey } from '../src/config/key-hash.js';
import { readAll } from './support/sse-client.js';

type Line = Record<string, any>;

describe('structured logs', () => {
  let app: RunningApp;
  const lines: Line[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (!l) continue;
        raw.push(l);
        lines.push(JSON.parse(l) as Line);
      }
      cb();
    },
  });

  beforeAll(async () => {
    const config = loadConfig({ HOST: '127.0.0.1', LOG_LEVEL: 'info', API_KEYS: 'acme:key-acme-secret-0001' }, hashKey);
    app = await startApp(config, { port: 0, logDestination: sink });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('logs one JSON line per request with the request id, tenant and job id, secrets redacted, never a line per frame', async () => {
    const auth = { Authorization: 'Bearer key-acme-secret-0001' };
    const created = await fetch(app.url + '/v1/jobs', {
      method: 'POST',
      headers: {
        ...auth,
        'Content-Type': 'application/json',
        'Idempotency-Key': 'idem-secret-777',
        'X-Request-Id': 'req-create-1',
      },
      body: JSON.stringify({ agent: 'echo', input: { message: 'a b c d e f g h i j' } }),
    });
    expect(created.status).toBe(201);
    const job = (await created.json()) as { id: string; stream_url: string };
    // a stream token in the query (a bogus one: 401) must never reach the logs
    const refused = await fetch(`${app.url}${job.stream_url}?access_token=tok-secret-999`, {
      headers: { 'X-Request-Id': 'req-token-1' },
    });
    expect(refused.status).toBe(401);
    const s = await readAll(`${app.url}${job.stream_url}`, { headers: { ...auth, 'X-Request-Id': 'req-stream-1' } });
    expect(s.events().length).toBeGreaterThan(10);

    // every line is JSON with a level and a time
    for (const l of lines) {
      expect(typeof l.level).toBe('string');
      expect(typeof l.time).toBe('string');
    }
    // the request line of the create: request id, tenant, the new job's id, status, duration
    const createLine = lines.find((l) => l.req_id === 'req-create-1' && l.res);
    expect(createLine).toMatchObject({
      level: 'info',
      tenant: 'acme',
      job_id: job.id,
      req: { method: 'POST', url: '/v1/jobs' },
      res: { status_code: 201 },
    });
    expect(typeof createLine!.duration_ms).toBe('number');
    // the service's own line inside that request carries the request id and the job's fields
    expect(lines.find((l) => l.msg === 'job created')).toMatchObject({
      req_id: 'req-create-1',
      job_id: job.id,
      tenant: 'acme',
      agent: 'echo',
      context: 'Jobs',
    });
    // the stream: exactly one line for the whole response, with job id and tenant, the token redacted
    const streamLines = lines.filter((l) => l.req_id === 'req-stream-1');
    expect(streamLines).toHaveLength(1);
    expect(streamLines[0]).toMatchObject({ job_id: job.id, tenant: 'acme', res: { status_code: 200 } });
    expect(streamLines[0]!.req.url).toBe(job.stream_url);
    const tokenLine = lines.find((l) => l.req_id === 'req-token-1' && l.res);
    expect(tokenLine).toMatchObject({ res: { status_code: 401 } });
    expect(tokenLine!.req.url).toBe(`${job.stream_url}?access_token=[redacted]`);
    // secrets never appear anywhere
    const all = raw.join('\n');
    expect(all).not.toContain('key-acme-secret-0001');
    expect(all).not.toContain('idem-secret-777');
    expect(all).not.toContain('tok-secret-999');
    expect(createLine!.req.headers.authorization).toBe('[redacted]');
    expect(createLine!.req.headers['idempotency-key']).toBe('[redacted]');
  });

  it('never logs a share link token: not at creation, not on use, not when refused', async () => {
    const auth = { Authorization: 'Bearer key-acme-secret-0001', 'Content-Type': 'application/json' };
    const job = await (
      await fetch(`${app.url}/v1/jobs`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ agent: 'echo', input: { message: 'x' } }),
      })
    ).json();
    const share = await (
      await fetch(`${app.url}/v1/jobs/${job.id}/shares`, { method: 'POST', headers: auth, body: '{}' })
    ).json();
    expect(share.token).toMatch(/^sh1_/);
    expect((await fetch(`${app.url}${share.job_url}`, { headers: { 'X-Request-Id': 'req-share-1' } })).status).toBe(
      200,
    );
    expect(
      (await fetch(`${app.url}/v1/jobs?share_token=${share.token}`, { headers: { 'X-Request-Id': 'req-share-2' } }))
        .status,
    ).toBe(401);
    await fetch(`${app.url}/v1/jobs/${job.id}/shares/${share.id}`, { method: 'DELETE', headers: auth });
    expect((await fetch(`${app.url}${share.events_url}`, { headers: { 'X-Request-Id': 'req-share-3' } })).status).toBe(
      401,
    );
    const line = lines.find((l) => l.req_id === 'req-share-1' && l.res);
    expect(line!.req.url).toBe(`/v1/jobs/${job.id}?share_token=[redacted]`);
    expect(lines.find((l) => l.msg === 'share link created')).toMatchObject({ job_id: job.id, share_id: share.id });
    expect(raw.filter((l) => l.includes(share.token))).toEqual([]);
    expect(raw.filter((l) => l.includes(share.token.slice(4, 20)))).toEqual([]);
  });

  it('logs rejected requests at warn with their request id, and keeps probes and scrapes out of the log', async () => {
    const before = lines.length;
    const r = await fetch(app.url + '/v1/jobs', {
      headers: { Authorization: 'Bearer wrong-key-123456', 'X-Request-Id': 'req-unauth-1' },
    });
    expect(r.status).toBe(401);
    await fetch(app.url + '/health/live');
    await fetch(app.url + '/health/ready');
    await fetch(app.url + '/metrics');
    const added = lines.slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ level: 'warn', req_id: 'req-unauth-1', res: { status_code: 401 } });
    expect(raw.join('\n')).not.toContain('wrong-key-123456');
  });
});
