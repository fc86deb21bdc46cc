/**
 * One job's log in the embedded event log, and the size estimate its memory budget is checked against.
 */
import type { JobEvent } from '@jobstream/contracts';
import type { EventListener, LoggedEvent } from './event-log.port.js';

/** Heap bytes around one retained event beyond its JSON text (stamped object, LoggedEvent, slots); see bench/. */
export const EVENT_OVERHEAD_BYTES = 184;

/** The estimate the budget is checked against: what one retained event costs. */
export function estimateEventBytes(event: JobEvent): number {
  return JSON.stringify(event).length + EVENT_OVERHEAD_BYTES;
}

export interface JobLog {
  events: LoggedEvent[];
  /** Bytes (estimated) of each event in `events`, same index. */
  sizes: number[];
  /** Index of the oldest retained event in `events`. */
  head: number;
  lastSeq: number;
  /** Highest seq ever appended (and so acknowledged); above `lastSeq` only after `MemoryEventLog.simulateRollback`. */
  ackedSeq: number;
  /** Attempt of the newest event. */
  lastAttempt: number;
  terminal: LoggedEvent | null;
  listeners: Set<EventListener>;
  dedup: Map<string, LoggedEvent>;
  /** Bytes of the retained events. */
  bytes: number;
  /** Evicted by the memory budget: no events, but still closed (a tombstone until its held entries expire). */
  evicted: boolean;
  /** Entries of this log still in the age queue. */
  held: number;
}

export interface Held {
  jobId: string;
  log: JobLog;
  at: number;
  dedupId: string | undefined;
}

export function newJobLog(): JobLog {
  return {
    events: [],
    sizes: [],
    head: 0,
    lastSeq: 0,
    ackedSeq: 0,
    lastAttempt: 0,
    terminal: null,
    listeners: new Set(),
    dedup: new Map(),
    bytes: 0,
    evicted: false,
    held: 0,
  };
}
