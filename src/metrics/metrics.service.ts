/**
 * Prometheus metrics of this process, in its own registry (never prom-client's global one): default process
 * metrics plus jobstream's own. Hot paths only bump plain numbers (SseConnections.stats) or call `inc`/`observe`;
 * anything that is state (open streams, hub entries) is read when /metrics is scraped.
 */
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobStatus } from '@jobstream/contracts';
import type { EventLogUsage, HotCacheStats } from '@jobstream/event-log';
import type { SseStats } from '../sse/sse-connections.js';
import type { RunnerMetrics } from '@jobstream/job-domain';

export type LimitName =
  'create_rate' | 'tenant_streams' | 'global_streams' | 'share_streams' | 'event_memory' | 'log_bytes_quota';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

@Injectable()
export class Metrics implements RunnerMetrics {
  readonly registry = new Registry();
  private sse: () => SseStats = () => ({ open: 0, heartbeats: 0, droppedSlow: 0, eventsDelivered: 0 });
  private hub: () => { jobs: number; sinks: number } = () => ({ jobs: 0, sinks: 0 });
  private eventLog: () => EventLogUsage | null = () => null;
  private snapshots: () => { jobs: number; bytes: number; eventsRead: number } = () => ({
    jobs: 0,
    bytes: 0,
    eventsRead: 0,
  });
  private hot: () => HotCacheStats = () => ({ jobs: 0, events: 0, bytes: 0, hits: 0, misses: 0, evictions: 0 });

  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly replayDuration: Histogram;
  private readonly jobTransitions: Counter<'status'>;
  private readonly jobRunDuration: Histogram<'agent' | 'status'>;
  private readonly threadTurns: Counter<'if_busy' | 'outcome'>;
  private readonly limitRejections: Counter<'limit'>;
  private readonly quotaRefusals: Counter<'kind'>;
  private readonly jobsLimited: Counter<'code'>;
  private readonly streamReadRetries: Counter;
  private readonly dsRequests: Counter;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with `this` = the metric
    const self = this;
    new Gauge({
      name: 'jobstream_sse_open_connections',
      help: 'SSE streams open on this process',
      registers,
      collect() {
        this.set(self.sse().open);
      },
    });
    const pulled = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    pulled(
      'jobstream_sse_events_delivered_total',
      'event frames written to SSE clients',
      () => self.sse().eventsDelivered,
    );
    pulled('jobstream_sse_heartbeats_total', 'keepalive comments written to SSE clients', () => self.sse().heartbeats);
    pulled(
      'jobstream_sse_dropped_slow_total',
      'SSE clients dropped because their unsent output passed SSE_MAX_BUFFER_BYTES',
      () => self.sse().droppedSlow,
    );
    new Gauge({
      name: 'jobstream_live_hub_jobs',
      help: 'jobs with a live event-log subscription in this process (one per job, shared by its clients; kept HOT_CACHE_GRACE_MS after the last client left, and opened at creation for jobs created here)',
      registers,
      collect() {
        this.set(self.hub().jobs);
      },
    });
    new Gauge({
      name: 'jobstream_live_hub_sinks',
      help: 'streams attached to the live hub',
      registers,
      collect() {
        this.set(self.hub().sinks);
      },
    });
    new Gauge({
      name: 'jobstream_embedded_event_log',
      help: 'what the event log holds against its bounds: embedded engine, EMBEDDED_MAX_EVENTS / EMBEDDED_MAX_BYTES (bytes as estimated); JetStream, the events stream against JETSTREAM_MAX_BYTES (max_events 0)',
      labelNames: ['measure'],
      registers,
      collect() {
        const u = self.eventLog();
        if (!u) return;
        this.set({ measure: 'events' }, u.events);
        this.set({ measure: 'bytes' }, u.bytes);
        this.set({ measure: 'running_events' }, u.runningEvents);
        this.set({ measure: 'running_bytes' }, u.runningBytes);
        this.set({ measure: 'max_events' }, u.maxEvents);
        this.set({ measure: 'max_bytes' }, u.maxBytes);
        this.set({ measure: 'evicted_jobs' }, u.evictedJobs);
      },
    });
    new Gauge({
      name: 'jobstream_snapshot_cache_jobs',
      help: 'jobs whose reduced state (snapshots, resume v2) is cached in this process',
      registers,
      collect() {
        this.set(self.snapshots().jobs);
      },
    });
    new Gauge({
      name: 'jobstream_snapshot_cache_bytes',
      help: 'approximate memory of the snapshot cache (bounded; least recently used jobs dropped first)',
      registers,
      collect() {
        this.set(self.snapshots().bytes);
      },
    });
    new Gauge({
      name: 'jobstream_hot_cache_bytes',
      help: 'estimated memory of the hot cache of recent events per live job (bounded by HOT_CACHE_BYTES)',
      registers,
      collect() {
        this.set(self.hot().bytes);
      },
    });
    new Gauge({
      name: 'jobstream_hot_cache_events',
      help: 'events held by the hot cache of recent events per live job',
      registers,
      collect() {
        this.set(self.hot().events);
      },
    });
    new Gauge({
      name: 'jobstream_hot_cache_jobs',
      help: 'jobs with a window in the hot cache of recent events',
      registers,
      collect() {
        this.set(self.hot().jobs);
      },
    });
    pulled(
      'jobstream_hot_cache_hits_total',
      'replay pages served from the hot cache (no log read)',
      () => self.hot().hits,
    );
    pulled(
      'jobstream_hot_cache_misses_total',
      'replay pages the hot cache did not hold (read from the event log)',
      () => self.hot().misses,
    );
    pulled(
      'jobstream_hot_cache_evictions_total',
      'job windows dropped from the hot cache for its overall byte bound',
      () => self.hot().evictions,
    );
    pulled(
      'jobstream_snapshot_events_read_total',
      'events read from the log to compute snapshots',
      () => self.snapshots().eventsRead,
    );
    this.replayDuration = new Histogram({
      name: 'jobstream_sse_replay_duration_seconds',
      help: 'from a stream opening to its replay having caught up with the live feed',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.jobTransitions = new Counter({
      name: 'jobstream_job_transitions_total',
      help: 'job status changes made by this process (queued on create, running, and the terminal status)',
      labelNames: ['status'],
      registers,
    });
    this.jobRunDuration = new Histogram({
      name: 'jobstream_worker_job_duration_seconds',
      help: 'run time of one attempt of a job in this worker, by agent and final status',
      labelNames: ['agent', 'status'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'jobstream_http_request_duration_seconds',
      help: 'HTTP request duration by route template (SSE streams excluded: see the jobstream_sse_* metrics)',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.threadTurns = new Counter({
      name: 'jobstream_thread_turns_total',
      help: 'thread turns asked for, by if_busy policy and outcome (started, queued, rejected)',
      labelNames: ['if_busy', 'outcome'],
      registers,
    });
    this.jobsLimited = new Counter({
      name: 'jobstream_jobs_limited_total',
      help: 'jobs this process ended by a limit (event_too_large, too_many_bytes, quota_exceeded, event_log_full)',
      labelNames: ['code'],
      registers,
    });
    this.limitRejections = new Counter({
      name: 'jobstream_limit_rejections_total',
      help: 'requests refused by a limit (create_rate, tenant_streams, global_streams, event_memory = the event log is full, log_bytes_quota)',
      labelNames: ['limit'],
      registers,
    });
    this.quotaRefusals = new Counter({
      name: 'jobstream_quota_refusals_total',
      help: 'requests refused 429 quota_exceeded, by quota (active_jobs, threads, webhooks, streams, …)',
      labelNames: ['kind'],
      registers,
    });
    this.dsRequests = new Counter({
      name: 'jobstream_ds_requests_total',
      help: 'Durable Streams requests (/ds) by method and outcome (ok, client_error, unavailable)',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.streamReadRetries = new Counter({
      name: 'jobstream_sse_log_retries_total',
      help: 'times an open SSE stream could not read the event log and waited to retry (leader election, node catching up)',
      registers,
    });
  }

  dsRequest(method: string, outcome: 'ok' | 'client_error' | 'unavailable'): void {
    this.dsRequests.inc({ method, outcome });
  }

  streamReadRetry(): void {
    this.streamReadRetries.inc();
  }

  /** Where the SSE and live-hub numbers are read at scrape time. */
  bindStreams(sse: () => SseStats, hub: () => { jobs: number; sinks: number }): void {
    this.sse = sse;
    this.hub = hub;
  }

  /** Where the embedded event log's usage is read at scrape time. */
  bindEventLog(usage: () => EventLogUsage | null): void {
    this.eventLog = usage;
  }

  /** Where the hot cache's numbers are read at scrape time. */
  bindHotCache(stats: () => HotCacheStats): void {
    this.hot = stats;
  }

  /** Where the snapshot cache's numbers are read at scrape time. */
  bindSnapshots(stats: () => { jobs: number; bytes: number; eventsRead: number }): void {
    this.snapshots = stats;
  }

  jobTransition(status: JobStatus): void {
    this.jobTransitions.inc({ status });
  }

  jobRunFinished(agent: string, status: JobStatus, seconds: number): void {
    this.jobRunDuration.observe({ agent, status }, seconds);
  }

  replayCaughtUp(seconds: number): void {
    this.replayDuration.observe(seconds);
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(status) }, seconds);
  }

  threadTurn(ifBusy: string, outcome: 'started' | 'queued' | 'rejected'): void {
    this.threadTurns.inc({ if_busy: ifBusy, outcome });
  }

  jobLimited(code: string): void {
    this.jobsLimited.inc({ code });
  }

  limitRejected(limit: LimitName): void {
    this.limitRejections.inc({ limit });
  }

  quotaRefused(kind: string): void {
    this.quotaRefusals.inc({ kind });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
