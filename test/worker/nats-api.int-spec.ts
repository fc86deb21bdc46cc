/**
 * The internal request-reply API over NATS (API_SUBJECTS), against the real API on JetStream + Redis: plain JSON
 * from a plain NATS client, the same tenant and validation rules as REST, the contract's error bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { API_SUBJECTS, newJobId } from '@jobstream/contracts';
import { startNatsTestApp, type NatsTestApp } from '../support/nats-app.js';
import { readAll, tokenText } from '../support/sse-client.js';
import { waitFor } from '../support/wait.js';

const KEYS = { acme: 'key-acme-123456', globex: 'key-globex-123456' };
let app: NatsTestApp;
let nc: NatsConnection;

async function req(subject: string, payload: unknown): Promise<any> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const m = await nc.request(subject, new TextEncoder().encode(body), { timeout: 5_000 });
  return JSON.parse(new TextDecoder().decode(m.data));
}

beforeAll(async () => {
  app = await startNatsTestApp({ API_KEYS: `acme:${KEYS.acme},globex:${KEYS.globex}` });
  nc = await connect({ servers: app.nats.url });
});
afterAll(async () => {
  await nc?.close();
  await app?.close();
});

describe('NATS request-reply API', () => {
  it('creates a job, gets it, and it runs to the same result as over REST', async () => {
    const created = await req(API_SUBJECTS.create, {
      api_key: KEYS.acme,
      agent: 'echo',
      input: { message: 'over nats ' },
      metadata: { via: 'nats' },
    });
    expect(created).toMatchObject({
      created: true,
      job: { agent: 'echo', status: 'queued', attempt: 1, metadata: { via: 'nats' } },
    });
    const id = created.job.id as string;
    expect(id).toMatch(/^job_/);
    const stream = await readAll(`${app.url}/v1/jobs/${id}/stream`, {
      headers: { Authorization: `Bearer ${KEYS.acme}` },
    });
    expect(tokenText(stream.events())).toBe('over nats ');
    const got = await req(API_SUBJECTS.get, { api_key: KEYS.acme, id });
    expect(got.job).toMatchObject({ id, status: 'completed' });
    // the REST view of the same job is identical
    const rest = await app.api(`/v1/jobs/${id}`, { headers: { Authorization: `Bearer ${KEYS.acme}` } });
    expect(rest.body).toEqual(got.job);
  });

  it('honours idempotency keys like the REST header', async () => {
    const body = {
      api_key: KEYS.acme,
      idempotency_key: `idem-${newJobId()}`,
      agent: 'echo',
      input: { message: 'once' },
    };
    const a = await req(API_SUBJECTS.create, body);
    const b = await req(API_SUBJECTS.create, body);
    expect(a.created).toBe(true);
    expect(b).toMatchObject({ created: false, job: { id: a.job.id } });
    const c = await req(API_SUBJECTS.create, { ...body, input: { message: 'other' } });
    expect(c.error.code).toBe('idempotency_conflict');
  });

  it('cancels a queued or running job, idempotently', async () => {
    const { job } = await req(API_SUBJECTS.create, {
      api_key: KEYS.acme,
      agent: 'echo',
      input: { message: 'a b c d e f g h i j', delay_ms: 200 },
    });
    const first = await req(API_SUBJECTS.cancel, { api_key: KEYS.acme, id: job.id, reason: 'enough' });
    expect(first.job.id).toBe(job.id);
    const stream = await readAll(`${app.url}/v1/jobs/${job.id}/stream`, {
      headers: { Authorization: `Bearer ${KEYS.acme}` },
    });
    expect(stream.events().at(-1)).toMatchObject({ type: 'cancelled', reason: 'enough' });
    const again = await req(API_SUBJECTS.cancel, { api_key: KEYS.acme, id: job.id });
    expect(again.job).toMatchObject({ id: job.id, status: 'cancelled' });
  });

  it("answers not_found for another tenant's job or an unknown id, like REST", async () => {
    const { job } = await req(API_SUBJECTS.create, { api_key: KEYS.acme, agent: 'echo', input: { message: 'mine' } });
    const notFound = { error: { code: 'not_found', message: expect.any(String) } };
    expect(await req(API_SUBJECTS.get, { api_key: KEYS.globex, id: job.id })).toEqual(notFound);
    expect(await req(API_SUBJECTS.cancel, { api_key: KEYS.globex, id: job.id })).toEqual(notFound);
    expect(await req(API_SUBJECTS.get, { api_key: KEYS.acme, id: newJobId() })).toEqual(notFound);
    expect(await req(API_SUBJECTS.get, { api_key: KEYS.acme, id: 'nonsense' })).toEqual(notFound);
    expect((await req(API_SUBJECTS.get, { api_key: KEYS.acme, id: job.id })).job.id).toBe(job.id);
  });

  it('refuses a missing or wrong api_key with unauthorized', async () => {
    const create = { agent: 'echo', input: { message: 'x' } };
    expect((await req(API_SUBJECTS.create, create)).error.code).toBe('unauthorized');
    expect((await req(API_SUBJECTS.create, { ...create, api_key: 'wrong-key-123' })).error.code).toBe('unauthorized');
    expect((await req(API_SUBJECTS.get, { id: newJobId() })).error.code).toBe('unauthorized');
  });

  it('refuses bad input with invalid_request, never an internal error', async () => {
    const k = { api_key: KEYS.acme };
    const bad: [string, unknown][] = [
      [API_SUBJECTS.create, { ...k, agent: 'nope', input: {} }],
      [API_SUBJECTS.create, { ...k, agent: 'echo', input: { message: 42 } }],
      [API_SUBJECTS.create, { ...k, agent: 'echo' }],
      [API_SUBJECTS.create, { ...k, agent: 'echo', input: { message: 'x' }, surprise: true }],
      [API_SUBJECTS.create, { ...k, agent: 'echo', input: { message: 'x' }, idempotency_key: 'has space' }],
      [API_SUBJECTS.create, '{not json'],
      [API_SUBJECTS.create, '[1,2]'],
      [API_SUBJECTS.get, { ...k }],
      [API_SUBJECTS.get, { ...k, id: 7 }],
      [API_SUBJECTS.cancel, { ...k, id: newJobId(), reason: 5 }],
    ];
    for (const [subject, payload] of bad) {
      const r = await req(subject, payload);
      const code = (payload as { agent?: string }).agent === 'nope' ? 'unknown_agent' : 'invalid_request';
      expect({ subject, payload, code: r.error?.code }).toEqual({ subject, payload, code });
      expect(typeof r.error.message).toBe('string');
    }
  });

  it("speaks Nest's envelope to a Nest ClientProxy", async () => {
    const r = await req(API_SUBJECTS.get, {
      pattern: API_SUBJECTS.get,
      id: 'nest-1',
      data: { api_key: KEYS.acme, id: newJobId() },
    });
    expect(r).toMatchObject({ id: 'nest-1', response: { error: { code: 'not_found' } }, isDisposed: true });
  });

  it('answers a waiting job (v1.1 jobstream.api.jobs.input) with the REST rules: accepted, repeat, conflicts, tenant', async () => {
    const { job } = await req(API_SUBJECTS.create, {
      api_key: KEYS.acme,
      agent: 'echo',
      input: { message: 'ask over nats', ask: { after: 1 } },
    });
    const got = await waitFor(
      async () => {
        const r = await req(API_SUBJECTS.get, { api_key: KEYS.acme, id: job.id });
        return r.job.status === 'waiting_for_input' ? r : null;
      },
      { intervalMs: 20, message: `${job.id} to wait for input` },
    );
    const rid = got.job.pending_input.request_id as string;
    const bad = await req(API_SUBJECTS.input, {
      api_key: KEYS.acme,
      id: job.id,
      request_id: rid,
      input: { approved: 'maybe' },
    });
    expect(bad.error).toEqual({ code: 'invalid_request', message: expect.stringContaining('input/approved') });
    expect(
      (await req(API_SUBJECTS.input, { api_key: KEYS.globex, id: job.id, request_id: rid, input: { approved: true } }))
        .error.code,
    ).toBe('not_found');
    expect(
      (
        await req(API_SUBJECTS.input, {
          api_key: KEYS.acme,
          id: job.id,
          request_id: 'other',
          input: { approved: true },
        })
      ).error.code,
    ).toBe('not_waiting');
    expect((await req(API_SUBJECTS.input, { api_key: KEYS.acme, id: job.id, request_id: rid })).error.code).toBe(
      'invalid_request',
    );
    const ok = await req(API_SUBJECTS.input, {
      api_key: KEYS.acme,
      id: job.id,
      request_id: rid,
      input: { approved: true },
    });
    expect(ok).toMatchObject({ accepted: true, job: { id: job.id } });
    const again = await req(API_SUBJECTS.input, {
      api_key: KEYS.acme,
      id: job.id,
      request_id: rid,
      input: { approved: true },
    });
    expect(again.accepted).toBe(false);
    expect(
      (await req(API_SUBJECTS.input, { api_key: KEYS.acme, id: job.id, request_id: rid, input: { approved: false } }))
        .error.code,
    ).toBe('already_answered');
    const stream = await readAll(`${app.url}/v1/jobs/${job.id}/stream`, {
      headers: { Authorization: `Bearer ${KEYS.acme}` },
    });
    expect(tokenText(stream.events())).toBe('ask over nats');
    expect(stream.events().at(-1)?.type).toBe('done');
  });

  it("is served on the process's one NATS connection (the engine's), not a connection of its own", async () => {
    const connz = (await (await fetch(`${app.nats.monitorUrl}/connz?subs=1`)).json()) as {
      connections: { name?: string; subscriptions_list?: string[] }[];
    };
    const ours = connz.connections.filter((c) => c.name?.startsWith('jobstream'));
    // this test's own client has no name; the API process (embedded worker included) opened exactly one
    expect(ours.map((c) => c.name)).toEqual(['jobstream']);
    expect(ours[0]!.subscriptions_list).toEqual(expect.arrayContaining([API_SUBJECTS.create, API_SUBJECTS.get]));
  });
});
