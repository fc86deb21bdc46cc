/**
 * The logger the domain writes to: structured records (`{ msg, …fields }`) at three levels. A Nest `Logger`, a pino
 * logger wrapped by the host, or `console` fit it.
 */
export interface DomainLogger {
  log(record: Record<string, unknown> | string): void;
  warn(record: Record<string, unknown> | string): void;
  error(record: Record<string, unknown> | string): void;
}

/** Writes nothing (the default where no logger is given). */
export const silentLogger: DomainLogger = { log: () => {}, warn: () => {}, error: () => {} };
