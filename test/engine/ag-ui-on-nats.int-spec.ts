// AG-UI (POST /v1/ag-ui/:agent with the real HttpAgent, ?format=ag-ui) on JetStream + Redis (real servers started by the harness).
import { startNatsTestApp } from '../support/nats-app.js';
import { agUiSuite } from '../suites/ag-ui.suite.js';

agUiSuite('JetStream + Redis', (env) => startNatsTestApp(env));
