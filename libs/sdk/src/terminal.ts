/**
 * Terminal checks: the contracts' zod-free terminal module (`@jobstream/contracts/terminal`), so a browser bundle of
 * the SDK pulls in no schema code.
 */
import type { JobEvent } from '@jobstream/contracts/events';
import type { TerminalEventType } from '@jobstream/contracts/terminal';

export { TERMINAL_EVENT_TYPES, isTerminalEvent, isTerminalStatus } from '@jobstream/contracts/terminal';

export type TerminalJobEvent = JobEvent<TerminalEventType>;
