import { startTestApp } from './support/app.js';
import { streamSuite } from './suites/stream.suite.js';

streamSuite('embedded engine', (env) => startTestApp(env));
