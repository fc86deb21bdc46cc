import { startTestApp } from './support/app.js';
import { interactiveSuite } from './suites/interactive.suite.js';

interactiveSuite('embedded engine', (env) => startTestApp(env));
