/** `GET /v1/agents`: the catalogue of announced agents (thin: the rules are in AgentCatalogService). */
import { Controller, Get, UseGuards } from '@nestjs/common';
import type { AgentList } from '@jobstream/contracts';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { ApiAgentsDocs } from '../docs/agents.docs.js';
import { AgentCatalogService } from './agent-catalog.service.js';

@Controller('v1/agents')
@UseGuards(ApiKeyGuard)
export class AgentsController {
  constructor(private readonly agents: AgentCatalogService) {}

  @Get()
  @ApiAgentsDocs.list()
  async list(): Promise<AgentList> {
    const items = await this.agents.list();
    return {
      items: items.map(({ name, description, input_schema, workers }) => ({
        name,
        description,
        input_schema,
        workers,
      })),
    };
  }
}
