import { startTestApp } from './support/app.js';
import { agentsSuite } from './suites/agents.suite.js';

agentsSuite('embedded engine', (env) => startTestApp(env));
