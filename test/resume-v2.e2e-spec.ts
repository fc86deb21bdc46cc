import { describe, expect, it } from '@jest/globals';
import { startTestApp } from './support/app.js';
import { appForBlock } from './support/tenant-app.js';
import { readJobMessage, textOf } from './support/ai-sdk.js';
import { resumeV2Suite } from './suites/resume-v2.suite.js';
import { readAll } from './support/sse-client.js';

resumeV2Suite('embedded engine', (env) => startTestApp(env));

describe('resume v2 with API keys: tenants and stream tokens', () => {
  const A = 'tenant-a-key-0001';
  const B = 'tenant-b-key-0002';
  const app = appForBlock(startTestApp, { API_KEYS: `a:${A},b:${B}` });

  it("another tenant's job is a 404 for snapshots, filters and the AI SDK format; a stream token opens the AI SDK format", async () => {
    const auth = (k: string) => ({ Authorization: `Bearer ${k}` });
    const created = await app.api('/v1/jobs', {
      body: { agent: 'echo', input: { message: 'only for tenant a' } },
      headers: auth(A),
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await app.api(`/v1/jobs/${id}/wait?timeout_s=10`, { headers: auth(A) });
    for (const path of [
      `/v1/jobs/${id}/snapshot`,
      `/v1/jobs/${id}/stream?snapshot=true`,
      `/v1/jobs/${id}/stream?types=token`,
      `/v1/jobs/${id}/stream?format=ai-sdk`,
      `/v1/jobs/${id}/events?types=token`,
    ]) {
      expect({ path, status: (await app.api(path, { headers: auth(B) })).status }).toEqual({ path, status: 404 });
      expect({ path, status: (await app.api(path)).status }).toEqual({ path, status: 401 });
    }
    expect((await app.api(`/v1/jobs/${id}/snapshot`, { headers: auth(A) })).body).toMatchObject({
      status: 'completed',
      text: 'only for tenant a',
    });
    const token = (await app.api(`/v1/jobs/${id}/stream-tokens`, { method: 'POST', headers: auth(A) })).body as {
      stream_url: string;
    };
    const { final } = await readJobMessage(`${app.url}${token.stream_url}&format=ai-sdk`);
    expect(textOf(final)).toBe('only for tenant a');
    const filtered = await readAll(`${app.url}${token.stream_url}&types=token`);
    expect(filtered.events().map((e) => e.type)).toEqual(['token', 'token', 'token', 'token', 'done']);
    // the stream token is for the stream only: not for the snapshot endpoint
    expect(
      (
        await app.api(
          `/v1/jobs/${id}/snapshot?access_token=${encodeURIComponent(token.stream_url.split('access_token=')[1]!)}`,
        )
      ).status,
    ).toBe(401);
  });
});
