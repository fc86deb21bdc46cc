import { startTestApp } from './support/app.js';
import { jobManagementSuite } from './suites/job-management.suite.js';

jobManagementSuite('embedded engine', (env) => startTestApp(env));
