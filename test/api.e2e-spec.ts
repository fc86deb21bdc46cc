import { startTestApp } from './support/app.js';
import { apiSuite } from './suites/api.suite.js';

apiSuite('embedded engine', (env) => startTestApp(env));
