import { describe, expect, it } from '@jest/globals';
import { HttpAgent } from '@ag-ui/client';
import { startTestApp } from './support/app.js';
import { appForBlock } from './support/tenant-app.js';
import { agUiSuite } from './suites/ag-ui.suite.js';

agUiSuite('embedded engine', (env) => startTestApp(env));

describe('AG-UI with API keys: tenants', () => {
  const A = 'tenant-a-key-0001';
  const B = 'tenant-b-key-0002';
  const app = appForBlock(startTestApp, { API_KEYS: `a:${A},b:${B}` });
  const agentOf = (key: string, threadId: string) =>
    new HttpAgent({ url: `${app.url}/v1/ag-ui/echo`, threadId, headers: { Authorization: `Bearer ${key}` } });

  it("the same threadId is a different thread per tenant; another tenant's job and interrupts are out of reach", async () => {
    const a = agentOf(A, 'shared-thread');
    a.addMessage({ id: 'a1', role: 'user', content: 'Tenant a asks.' });
    await a.runAgent({ runId: 'r1', forwardedProps: { input: { ask: { after: 1 } } } });
    expect(a.pendingInterrupts).toHaveLength(1);
    const b = agentOf(B, 'shared-thread');
    b.addMessage({ id: 'b1', role: 'user', content: 'Tenant b talks.' });
    await b.runAgent({ runId: 'r1' }); // same threadId and runId: b's own thread and turn, not a's
    expect(b.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Tenant b talks.' });
    const list = async (key: string) =>
      (await app.api('/v1/threads', { headers: { Authorization: `Bearer ${key}` } })).body.items as unknown[];
    expect(await list(A)).toEqual([expect.objectContaining({ external_id: 'shared-thread', status: 'busy' })]);
    expect(await list(B)).toEqual([expect.objectContaining({ external_id: 'shared-thread', status: 'idle' })]);
    // b cannot answer a's interrupt (its shared-thread waits for nothing), nor read a's job
    const resume = await app.api('/v1/ag-ui/echo', {
      headers: { Authorization: `Bearer ${B}` },
      body: {
        threadId: 'shared-thread',
        runId: 'r2',
        messages: [],
        tools: [],
        context: [],
        resume: [{ interruptId: a.pendingInterrupts[0]!.id, status: 'resolved', payload: { approved: true } }],
      },
    });
    expect(resume.status).toBe(409);
    const jobA = (
      (await app.api('/v1/jobs', { headers: { Authorization: `Bearer ${A}` } })).body.items[0] as { id: string }
    ).id;
    expect(
      (await app.api(`/v1/jobs/${jobA}/stream?format=ag-ui`, { headers: { Authorization: `Bearer ${B}` } })).status,
    ).toBe(404);
    expect((await app.api('/v1/ag-ui/echo', { body: {} })).status).toBe(401);
    // a answers its own
    await a.runAgent({
      runId: 'r2',
      resume: [{ interruptId: a.pendingInterrupts[0]!.id, status: 'resolved', payload: { approved: true } }],
    });
    expect(
      a.messages
        .filter((m) => m.role === 'assistant')
        .map((m) => m.content)
        .join(''),
    ).toBe('Tenant a asks.');
  });
});
