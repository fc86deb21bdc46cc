import { startNatsTestApp } from '../support/nats-app.js';
import { pythonWorkerSuite } from '../suites/python-worker.suite.js';

pythonWorkerSuite('JetStream + Redis', (env) => startNatsTestApp(env));
