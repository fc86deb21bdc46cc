/** The process-wide live fan-out hub (one log subscription per active job). */
export const LIVE_HUB = Symbol('LIVE_HUB');

export const LIST_LIMIT_DEFAULT = 20;
export const LIST_LIMIT_MAX = 100;
export const EVENTS_LIMIT_DEFAULT = 100;
export const EVENTS_LIMIT_MAX = 1000;
export const WAIT_TIMEOUT_DEFAULT_S = 30;
export const WAIT_TIMEOUT_MAX_S = 300;

/** The process-wide cache of reduced job states behind snapshots. */
export const SNAPSHOT_CACHE = Symbol('SNAPSHOT_CACHE');

/** The process-wide hot cache of recent events per live job, fed by the live hub, read by the replay source only. */
export const HOT_CACHE = Symbol('HOT_CACHE');

/** Where every stream format reads a job's history: the hot window or the log (ReplaySource). */
export const REPLAY_SOURCE = Symbol('REPLAY_SOURCE');
