/** Tenant-safety attacks on the embedded engine (memory stores): quotas, rate limits, fair webhook deliveries. */
import { startTestApp } from '../support/app.js';
import { quotasSuite } from '../suites/quotas.suite.js';
import { webhookFairnessSuite } from '../suites/webhook-fairness.suite.js';

webhookFairnessSuite('embedded, memory store', (env) => startTestApp(env));
quotasSuite('embedded, memory store', (env) => startTestApp(env));
