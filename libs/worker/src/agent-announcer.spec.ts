import { describe, expect, it } from '@jest/globals';
import { MemoryAgentCatalog } from '@jobstream/job-queue';
import { AgentAnnouncer } from './agent-announcer.js';
import { AgentRegistry, type Agent } from './agent.js';
import { EchoAgent } from '../../../src/worker-core/agents/echo.agent.js';

describe('AgentAnnouncer', () => {
  const opts = { workerId: 'w1', ttlMs: 15_000 };

  it('announces the registry (echo with its JSON Schema) and withdraws on shutdown', async () => {
    const catalog = new MemoryAgentCatalog();
    const a = new AgentAnnouncer(catalog, new AgentRegistry([new EchoAgent()]), opts);
    await a.start();
    expect(await catalog.get('echo')).toMatchObject({ workers: 1, input_schema: { required: ['message'] } });
    await a.stop();
    expect(await catalog.get('echo')).toMatchObject({ workers: 0 });
  });

  it('refuses to start with an agent whose schema does not compile, announcing nothing', async () => {
    const catalog = new MemoryAgentCatalog();
    const broken: Agent = {
      name: 'broken',
      inputSchema: { type: 'object', properties: { x: { minimum: 'one' } } },
      // eslint-disable-next-line require-yield -- never run
      async *run() {
        return;
      },
    };
    const a = new AgentAnnouncer(catalog, new AgentRegistry([new EchoAgent(), broken]), opts);
    await expect(a.start()).rejects.toThrow(/agent "broken": input_schema is not a valid JSON Schema/);
    expect(await catalog.list()).toEqual([]);
  });
});
