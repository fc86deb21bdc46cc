// Resume v2 (snapshots, filters, the AI SDK format) on JetStream + Redis (real servers started by the harness).
import { startNatsTestApp } from '../support/nats-app.js';
import { resumeV2Suite } from '../suites/resume-v2.suite.js';

resumeV2Suite('JetStream + Redis', (env) => startNatsTestApp(env));
