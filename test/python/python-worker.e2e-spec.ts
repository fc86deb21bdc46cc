import { startTestApp } from '../support/app.js';
import { pythonWorkerSuite } from '../suites/python-worker.suite.js';

pythonWorkerSuite('embedded engine', (env) => startTestApp(env));
