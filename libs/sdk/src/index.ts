/**
 * jobstream TypeScript SDK — browser-safe and Node ≥ 20. See README.md.
 */
export { createClient } from './client.js';
export type {
  AgentInfo,
  AgentsApi,
  BatchJobItem,
  BatchResultItem,
  ClientOptions,
  CreateJobOptions,
  CreateTurnOptions,
  RerunOptions,
  ThreadPage,
  ThreadsApi,
  CreatedJob,
  EventsPage,
  EventsParams,
  JobPage,
  JobsApi,
  JobstreamClient,
  ListJobsParams,
  PlacedSnapshot,
  PolledEvent,
  RequestOptions,
  SnapshotParams,
  WaitParams,
} from './client.js';
export { createStream, isSnapshot } from './stream.js';
export type {
  CreateStreamOptions,
  JobStream,
  JobStreamItem,
  ReconnectInfo,
  SnapshotStreamOptions,
  StreamOptions,
  StreamStats,
} from './stream.js';
export { initialJobState, reduceJobEvent, reduceJobEvents, stateOfSnapshot } from '@jobstream/contracts/snapshot';
export type { JobSnapshot, JobState, OpenToolCall } from '@jobstream/contracts/snapshot';
export { subscribeJobStream, streamJobTokens } from './subscribe.js';
export type {
  InputHandlerResult,
  InputResponder,
  SubscribeHandlers,
  SubscribeOptions,
  Subscription,
  SubscriptionResult,
  TerminalJobEvent,
  TokenCallbacks,
  TokenStreamHandle,
} from './subscribe.js';
export { agUiFetch, readAgUiEvents, AG_UI_STREAM_HEADER } from './ag-ui.js';
export type { AgUiEvent, AgUiFetchOptions, ReadAgUiOptions } from './ag-ui.js';
export { streamJobUntilComplete, waitFor } from './complete.js';
export type { CompletedJob, UntilCompleteOptions, WaitForOptions } from './complete.js';
export { TokenAssembler } from './assembler.js';
export { backoffDelay, seededRandom, DEFAULT_RECONNECT } from './backoff.js';
export type { ReconnectOptions } from './backoff.js';
export {
  JobstreamError,
  JobstreamConnectionError,
  JobstreamTimeoutError,
  JobstreamUnmatchedError,
  isRetryable,
  isQuotaExceeded,
} from './errors.js';
export type { ConnectionFailureReason, QuotaExceededError } from './errors.js';
export type { ConnectionOptions, FetchLike, ClientSource } from './transport.js';
export type { JobEvent, AgentEvent, EventType, Usage } from '@jobstream/contracts/events';
export { isTerminalEvent, isTerminalStatus } from './terminal.js';
export type { Job, JobStatus, CreateJobRequest, InputJobRequest, PendingInput } from '@jobstream/contracts/job';
export type { ErrorBody } from '@jobstream/contracts/errors';
export type { IfBusy, IssuedShare, Share, Thread, ThreadStatus } from '@jobstream/contracts/threads';
export type {
  CreatedWebhook,
  DeliveryPage,
  Webhook,
  WebhookDelivery,
  WebhookDeliveryAttempt,
  WebhookEventType,
  WebhookPayload,
  WebhooksApi,
} from './webhooks.js';
