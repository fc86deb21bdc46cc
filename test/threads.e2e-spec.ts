import { startTestApp } from './support/app.js';
import { threadsSuite } from './suites/threads.suite.js';

threadsSuite('embedded engine', (env) => startTestApp(env));
