import { startTestApp } from './support/app.js';
import { workerHttpSuite } from './suites/worker-http.suite.js';

workerHttpSuite('embedded engine', (env) => startTestApp(env));
