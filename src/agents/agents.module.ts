import { Global, Module } from '@nestjs/common';
import { AgentCatalogService } from './agent-catalog.service.js';
import { AgentsController } from './agents.controller.js';

/** The agent catalogue's API side; global, since every create path checks its input here. */
@Global()
@Module({ controllers: [AgentsController], providers: [AgentCatalogService], exports: [AgentCatalogService] })
export class AgentsModule {}
