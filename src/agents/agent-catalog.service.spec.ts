import { describe, expect, it, jest } from '@jest/globals';
import { CatalogUnavailableError, MemoryAgentCatalog } from '@jobstream/job-queue';
import { AgentCatalogService, SNAPSHOT_MS } from './agent-catalog.service.js';

describe('AgentCatalogService while the catalogue is unreachable', () => {
  const echo = { name: 'echo', description: '', input_schema: { type: 'object', required: ['message'] } };

  it('checks creates against the last snapshot, however old; without one it answers the outage', async () => {
    const catalog = new MemoryAgentCatalog();
    await catalog.announce('w1', [echo], 60_000);
    const service = new AgentCatalogService(catalog);
    await service.validateInput('echo', { message: 'hi' }); // the snapshot is taken
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + SNAPSHOT_MS * 10);
    const down = () => Promise.reject(new CatalogUnavailableError('nats down'));
    jest.spyOn(catalog, 'list').mockImplementation(down);
    jest.spyOn(catalog, 'get').mockImplementation(down);
    try {
      await expect(service.validateInput('echo', { message: 'still checked' })).resolves.toBeUndefined();
      await expect(service.validateInput('echo', {})).rejects.toMatchObject({ code: 'invalid_request' });
      // the listing is not served stale, and no snapshot means the outage
      await expect(service.list()).rejects.toBeInstanceOf(CatalogUnavailableError);
      await expect(new AgentCatalogService(catalog).validateInput('echo', {})).rejects.toBeInstanceOf(
        CatalogUnavailableError,
      );
    } finally {
      clock.mockRestore();
    }
  });
});
