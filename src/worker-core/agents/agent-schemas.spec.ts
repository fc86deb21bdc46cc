import { describe, expect, it } from '@jest/globals';
import { MemoryAgentCatalog } from '@jobstream/job-queue';
import { AgentAnnouncer } from '../agent-announcer.js';
import type { WorkerConfig } from '../../config/worker.config.js';
import { AgentRegistry, type Agent } from './agent.js';
import { AgentDefinitionError, AgentSchemas, inputErrorMessage } from './agent-schemas.js';
import { EchoAgent } from './echo.agent.js';

const def = (input_schema: Record<string, unknown>, name = 'a1') => ({ name, description: 'd', input_schema });

describe('AgentSchemas', () => {
  it('refuses a schema that does not compile, a bad name or a bad description, saying why', () => {
    const s = new AgentSchemas();
    expect(() => s.check(def({ type: 'object', properties: { x: { type: 'no-such-type' } } }))).toThrow(
      /input_schema is not a valid JSON Schema/,
    );
    expect(() => s.check(def({ type: 'object' }, 'has.dot'))).toThrow(AgentDefinitionError);
    expect(() => s.check({ name: 'a', description: 5 as unknown as string, input_schema: {} })).toThrow(/description/);
    expect(() =>
      s.check({ name: 'a', description: '', input_schema: [] as unknown as Record<string, unknown> }),
    ).toThrow(/JSON Schema object/);
  });

  it('compiles each distinct schema once, and names the failing path of a bad input', () => {
    const s = new AgentSchemas();
    const schema = {
      type: 'object',
      properties: { a: { type: 'object', properties: { b: { type: 'integer', minimum: 1 } } } },
      additionalProperties: false,
    };
    const v = s.check(def(schema));
    expect(s.compile({ ...schema })).toBe(v);
    expect(v({ a: { b: 0 } })).toBe(false);
    expect(inputErrorMessage(v.errors)).toBe('input.a.b: must be >= 1');
    expect(v({ c: 1 })).toBe(false);
    expect(inputErrorMessage(v.errors)).toBe('input.c: unknown property');
  });
});

describe('AgentAnnouncer', () => {
  const config = { agentTtlMs: 15_000 } as WorkerConfig;

  it('announces the registry (echo with its JSON Schema) and withdraws on shutdown', async () => {
    const catalog = new MemoryAgentCatalog();
    const a = new AgentAnnouncer(catalog, new AgentRegistry([new EchoAgent()]), config);
    await a.onModuleInit();
    expect(await catalog.get('echo')).toMatchObject({ workers: 1, input_schema: { required: ['message'] } });
    await a.onApplicationShutdown();
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
    const a = new AgentAnnouncer(catalog, new AgentRegistry([new EchoAgent(), broken]), config);
    await expect(a.onModuleInit()).rejects.toThrow(/agent "broken": input_schema is not a valid JSON Schema/);
    expect(await catalog.list()).toEqual([]);
  });
});
