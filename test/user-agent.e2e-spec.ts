/**
 * An agent a user writes (docs/agents.md), run by the real app: it asks a text question with its own schema, then
 * for an approval, and continues from the job's log after each answer. Registered in the app's agent registry
 * under the `echo` name (its input is an echo input), so the whole stack — REST, SDK, runner, log — is the real one.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts';
import { createClient, streamJobUntilComplete } from '@jobstream/sdk';
import type { Agent, AgentContext, AgentOutput, AgentRegistry } from '../src/worker-core/agents/agent.js';
import { requestsIn, tokenTextIn } from '../src/worker-core/agents/history.js';
import { AGENT_REGISTRY } from '../src/worker-core/worker.constants.js';
import { startTestApp, type TestApp } from './support/app.js';

const ACCOUNT_SCHEMA = {
  type: 'object',
  properties: { text: { enum: ['eu-central', 'us-east'] } },
  required: ['text'],
  additionalProperties: false,
};

const mover: Agent = {
  name: 'echo',
  async *run(ctx: AgentContext): AsyncIterable<AgentOutput> {
    const asked = requestsIn(ctx.history);
    const say = (text: string): AgentOutput => {
      ctx.usage.output_tokens++;
      return { type: 'token', text };
    };
    if (asked.length === 0) {
      yield say('Moving your data. ');
      yield { type: 'input_required', kind: 'text', prompt: 'Which region?', schema: ACCOUNT_SCHEMA };
      return;
    }
    const region = String(asked[0]!.answer!['text']);
    if (asked.length === 1) {
      yield say(`Target: ${region}. `);
      yield { type: 'input_required', kind: 'approval', prompt: `Move 3 TB to ${region}?` };
      return;
    }
    if (asked[1]!.answer!['approved'] !== true) {
      yield { type: 'cancelled', reason: 'rejected', usage: { ...ctx.usage } };
      return;
    }
    yield say('Done.');
    yield { type: 'done', usage: { ...ctx.usage }, output: { text: tokenTextIn(ctx.history) + 'Done.' } };
  },
};

describe('a user-written agent that asks (embedded engine)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({});
    app.app.get<AgentRegistry>(AGENT_REGISTRY, { strict: false }).register(mover);
  });
  afterAll(async () => {
    await app?.close();
  });

  it("text answers are checked against the agent's own schema; the job continues from its log after each answer", async () => {
    const id = (await app.api('/v1/jobs', { body: { agent: 'echo', input: { message: 'x' } } })).body.id as string;
    let job = (await app.api(`/v1/jobs/${id}/wait?timeout_s=20`)).body;
    expect(job.pending_input).toMatchObject({ kind: 'text', prompt: 'Which region?', schema: ACCOUNT_SCHEMA });
    const rid = job.pending_input.request_id as string;
    const bad = await app.api(`/v1/jobs/${id}/input`, { body: { request_id: rid, input: { text: 'mars' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('input/text: must be one of ["eu-central","us-east"]');
    const extra = await app.api(`/v1/jobs/${id}/input`, {
      body: { request_id: rid, input: { text: 'us-east', note: 1 } },
    });
    expect(extra.body.error.message).toBe('input: must not have property "note"');
    expect(
      (await app.api(`/v1/jobs/${id}/input`, { body: { request_id: rid, input: { text: 'eu-central' } } })).status,
    ).toBe(202);

    job = (await app.api(`/v1/jobs/${id}/wait?timeout_s=20`)).body;
    expect(job.pending_input).toMatchObject({ kind: 'approval', prompt: 'Move 3 TB to eu-central?' });
    // the SDK answers the rest
    const client = createClient({ baseUrl: app.url });
    const done = await streamJobUntilComplete(id, {
      client,
      onInputRequired: (e) => (e.kind === 'approval' ? { approved: true } : undefined),
    });
    expect(done.job.status).toBe('completed');
    expect(done.text).toBe('Moving your data. Target: eu-central. Done.');
    const events = done.events as JobEvent[];
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(
      events.filter((e) => e.type === 'input_received').map((e) => (e as JobEvent<'input_received'>).input),
    ).toEqual([{ text: 'eu-central' }, { approved: true }]);
    expect(done.terminal).toMatchObject({ type: 'done', usage: { output_tokens: 3 } });
  });
});
