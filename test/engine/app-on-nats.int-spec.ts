// The same e2e suites as the embedded engine, on JetStream + Redis (real servers started by the harness).
import { startNatsTestApp } from '../support/nats-app.js';
import { apiSuite } from '../suites/api.suite.js';
import { interactiveSuite } from '../suites/interactive.suite.js';
import { streamSuite } from '../suites/stream.suite.js';

streamSuite('JetStream + Redis', (env) => startNatsTestApp(env));
apiSuite('JetStream + Redis', (env) => startNatsTestApp(env));
interactiveSuite('JetStream + Redis', (env) => startNatsTestApp(env));
