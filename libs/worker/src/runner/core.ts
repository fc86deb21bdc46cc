/** What every part of the runner shares: the ports (the log is the retrying one), the agents, options and logger. */
import type { EventLog } from '@jobstream/event-log';
import type { DomainLogger } from '@jobstream/job-domain';
import type { JobStore } from '@jobstream/job-store';
import type { AgentRegistry } from '../agent.js';
import type { AttemptEnding } from './attempt-ending.js';
import type { JobRunnerOptions } from './options.js';

export interface RunnerCore {
  store: JobStore;
  /** The retrying event log (retrying-event-log.ts): every append of the runner goes through it. */
  log: EventLog;
  agents: AgentRegistry;
  opts: JobRunnerOptions;
  logger: DomainLogger;
  ending: AttemptEnding;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
