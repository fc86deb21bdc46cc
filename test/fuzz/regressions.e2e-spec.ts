/**
 * Every distinct failure the fuzz suites found, kept as a plain regression test (issue 11), plus the edge limits
 * and protocol-level answers: built-in member names as agents, deep and wide bodies, `__proto__` keys, tokens in
 * odd query shapes reaching the log, bare-text protocol errors, SSE ignoring `Connection: close`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { startApp, type RunningApp } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config/config.js';
import { hashKey } from '../../src/config/key-hash.js';
import { readAll, tokenText } from '../support/sse-client.js';
import { BUILTIN_NAMES } from './hostile.js';
import { isErrorBody } from './http-client.js';

const KEY = 'key-regress-acme-0001';
const auth = { Authorization: `Bearer ${KEY}` };

/** Sends raw bytes on a fresh connection; resolves with everything the server sent until it closed (or timeout). */
function rawExchange(
  port: number,
  bytes: string | Buffer,
  opts: { waitForClose?: boolean; timeoutMs?: number } = {},
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closed: false });
    }, opts.timeoutMs ?? 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closed: true });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (chunks.length) resolve({ text: Buffer.concat(chunks).toString('utf8'), closed: true });
      else reject(err);
    });
  });
}

function parseRaw(text: string): { status: number; headers: Record<string, string>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(0, end).split('\r\n');
  const status = Number(head[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const l of head.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: text.slice(end + 4) };
}

describe('hostile input regressions', () => {
  let app: RunningApp;
  let port: number;
  const log: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      log.push(chunk.toString('utf8'));
      cb();
    },
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(app.url + path, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', ...headers },
      body,
    });

  async function expectError(res: Response, status: number, code: string, message?: RegExp): Promise<void> {
    const text = await res.text();
    expect({ status: res.status, text }).toMatchObject({ status });
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    expect(isErrorBody(body)).toBe(true);
    expect(body.error.code).toBe(code);
    if (message) expect(body.error.message).toMatch(message);
  }

  beforeAll(async () => {
    const config = loadConfig(
      { HOST: '127.0.0.1', LOG_LEVEL: 'info', API_KEYS: `acme:${KEY}`, RATE_LIMIT_CREATE_PER_MIN: '0' },
      hashKey,
    );
    app = await startApp(config, { port: 0, logDestination: sink });
    port = Number(new URL(app.url).port);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('an agent named like a built-in object member is an unknown agent (400), never a 500', async () => {
    // found by the fuzzer: a lookup by agent name found Object.prototype members (24 500s per run)
    for (const agent of BUILTIN_NAMES) {
      await expectError(
        await post('/v1/jobs', JSON.stringify({ agent, input: { message: 'x' } })),
        400,
        'unknown_agent',
        /unknown agent/,
      );
    }
  });

  it('refuses bodies nested deeper than 32 levels, or too wide, with a clear 400 before any validation', async () => {
    // found by the fuzzer: deep metadata made JSON.stringify / canonical() overflow the stack (500)
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    await expectError(
      await post('/v1/jobs', `{"agent":"echo","input":{"message":"x"},"metadata":{"a":${deep(5_000)}}}`),
      400,
      'invalid_request',
      /deeper than 32/,
    );
    await expectError(
      await post('/v1/jobs', `{"agent":"echo","input":{"message":"x"},"metadata":{"a":${deep(200_000)}}}`),
      400,
      'invalid_request',
      /deeper than 32/,
    );
    await expectError(
      await post('/v1/jobs', `{"agent":"echo","input":{"message":"x","z":${deep(1_000)}}}`, {
        'Idempotency-Key': 'deep-1',
      }),
      400,
      'invalid_request',
      /deeper than 32/,
    );
    await expectError(
      await post(
        '/v1/jobs',
        `{"agent":"echo","input":{"message":"x"},"metadata":{"a":[${new Array(20_000).fill(0).join(',')}]}}`,
      ),
      400,
      'invalid_request',
      /more than 10000 items/,
    );
    const keys = Array.from({ length: 2_000 }, (_, i) => `"k${i}":0`).join(',');
    await expectError(
      await post('/v1/jobs/job_00000000000000000000000000/cancel', `{${keys}}`),
      400,
      'invalid_request',
      /more than 1000 keys/,
    );
    // up to the limit is fine (and the metadata round-trips)
    const ok = await post('/v1/jobs', `{"agent":"echo","input":{"message":"x"},"metadata":{"a":${deep(30)}}}`);
    expect(ok.status).toBe(201);
  });

  it('refuses a "__proto__" key anywhere in a body; other built-in names are plain data', async () => {
    await expectError(
      await post('/v1/jobs', '{"agent":"echo","input":{"message":"x"},"metadata":{"__proto__":{"admin":true}}}'),
      400,
      'invalid_request',
      /__proto__/,
    );
    await expectError(
      await post('/v1/jobs', '{"agent":"echo","input":{"__proto__":{"message":"x"}}}'),
      400,
      'invalid_request',
      /__proto__/,
    );
    await expectError(
      await post('/v1/jobs', '{"agent":"echo","input":{"message":"x"},"metadata":{"\\u005f_proto__":1}}'),
      400,
      'invalid_request',
      /__proto__/,
    );
    const res = await post(
      '/v1/jobs',
      JSON.stringify({
        agent: 'echo',
        input: { message: 'x' },
        metadata: { constructor: 1, toString: 'a', hasOwnProperty: null, valueOf: [1] },
      }),
    );
    expect(res.status).toBe(201);
    const job = (await res.json()) as { metadata: unknown };
    expect(job.metadata).toEqual({ constructor: 1, toString: 'a', hasOwnProperty: null, valueOf: [1] });
    // the same body with an idempotency key: fingerprinting built-in names works too
    const again = await post(
      '/v1/jobs',
      JSON.stringify({ agent: 'echo', input: { message: 'x' }, metadata: { constructor: 1 } }),
      { 'Idempotency-Key': 'constructor' },
    );
    const twice = await post(
      '/v1/jobs',
      JSON.stringify({ agent: 'echo', input: { message: 'x' }, metadata: { constructor: 1 } }),
      { 'Idempotency-Key': 'constructor' },
    );
    expect([again.status, twice.status]).toEqual([201, 200]);
  });

  it('refuses a JSON body in a charset other than UTF-8 with 415', async () => {
    await expectError(
      await post('/v1/jobs', '{"agent":"echo","input":{"message":"x"}}', {
        'Content-Type': 'application/json; charset=utf-16',
      }),
      415,
      'unsupported_media_type',
    );
    await expectError(
      await post('/v1/jobs', '{}', { 'Content-Type': 'application/json; charset=latin1' }),
      415,
      'unsupported_media_type',
    );
  });

  it('never logs a valid stream token, whatever query shape carried it (one shape was accepted AND logged in clear)', async () => {
    const created = await post('/v1/jobs', JSON.stringify({ agent: 'echo', input: { message: 'secret stream' } }));
    const job = (await created.json()) as { id: string };
    const issued = await fetch(`${app.url}/v1/jobs/${job.id}/stream-tokens`, { method: 'POST', headers: auth });
    const { token } = (await issued.json()) as { token: string };
    // found by the fuzzer: a percent-encoded parameter name is decoded by the query parser (so the token works)
    // but was not recognised by the log's redaction
    const accepted = await readAll(`${app.url}/v1/jobs/${job.id}/stream?%61ccess_token=${token}`);
    expect(accepted.status).toBe(200);
    expect(tokenText(accepted.events())).toBe('secret stream');
    const shapes = [
      `access_token[]=${token}`,
      `access_token=x&access_token=${token}`,
      `access_token[x]=${token}`,
      `ACCESS_TOKEN=${token}`,
      `share_token=${token}`,
      `api_key[0]=${token}`,
      `after=0#access_token=${token}`,
    ];
    for (const q of shapes) {
      const r = await fetch(`${app.url}/v1/jobs/${job.id}/stream?${q}`, { headers: { 'X-Request-Id': 'shape-test' } });
      await r.text();
      expect(r.status).toBeLessThan(500);
    }
    await fetch(`${app.url}/v1/jobs/${job.id}`, {
      headers: { ...auth, Referer: `https://app.example/x?access_token=${token}` },
    });
    const all = log.join('');
    expect(all).toContain('shape-test');
    expect(all).not.toContain(token);
    expect(all).not.toContain(token.split('.')[2]!);
    expect(all).not.toContain(KEY);
  });

  it('answers protocol-level errors with the contract JSON error, then closes', async () => {
    const big = await rawExchange(port, `GET /v1/jobs?x=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let r = parseRaw(big.text);
    expect(r.status).toBe(431);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['connection']).toBe('close');
    expect(JSON.parse(r.body)).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
    expect(big.closed).toBe(true);

    const header = await rawExchange(port, `GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`);
    expect(parseRaw(header.text).status).toBe(431);

    for (const bad of [
      'GET /v1/jobs HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', // space in a header name
      'GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n', // NUL in a value
      'NOT A REQUEST\r\n\r\n',
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', // bad chunk size
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}', // conflicting lengths
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}', // smuggling shape
    ]) {
      const out = await rawExchange(port, bad);
      r = parseRaw(out.text);
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
      expect(JSON.parse(r.body)).toEqual({ error: { code: 'invalid_request', message: expect.any(String) } });
      expect(out.closed).toBe(true);
    }

    // a HEAD request gets the status and headers only
    const head = await rawExchange(port, `HEAD /v1/jobs?x=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    r = parseRaw(head.text);
    expect(r.status).toBe(431);
    expect(r.body).toBe('');
  });

  it('SSE honours Connection: close (says so, and closes the socket when the stream ends)', async () => {
    const created = await post('/v1/jobs', JSON.stringify({ agent: 'echo', input: { message: 'a b c' } }));
    const job = (await created.json()) as { id: string };
    const out = await rawExchange(
      port,
      `GET /v1/jobs/${job.id}/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nConnection: close\r\n\r\n`,
      {
        timeoutMs: 10_000,
      },
    );
    const r = parseRaw(out.text);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream');
    expect(r.headers['connection']).toBe('close');
    expect(r.body).toContain('event: done');
    expect(out.closed).toBe(true);
    // and a keep-alive client still gets keep-alive
    const ka = await fetch(`${app.url}/v1/jobs/${job.id}/stream`, { headers: auth });
    expect(ka.headers.get('connection')).toBe('keep-alive');
    await ka.text();
  });
});
