import { startTestApp } from './support/app.js';
import { resumeV2Suite } from './suites/resume-v2.suite.js';

resumeV2Suite('embedded engine', (env) => startTestApp(env));
