import { MemoryAgentCatalog } from './memory-agent-catalog.js';
import { agentCatalogConformance } from './testing/agent-catalog.conformance.js';

// one catalogue per process: every "handle" of the embedded engine is the same object
const shared = new MemoryAgentCatalog();
agentCatalogConformance('memory', async () => ({ ...bind(shared), close: async () => {} }));

function bind(c: MemoryAgentCatalog) {
  return {
    announce: c.announce.bind(c),
    withdraw: c.withdraw.bind(c),
    get: c.get.bind(c),
    list: c.list.bind(c),
    forget: c.forget.bind(c),
  };
}
