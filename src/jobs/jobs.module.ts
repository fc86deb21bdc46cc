import { Inject, Module } from '@nestjs/common';
import { HotCache, LiveHub, ReplaySource, SnapshotCache, type EventLog } from '@jobstream/event-log';
import { AppConfig } from '../config/config.js';
import { EVENT_LOG } from '../engine/engine.constants.js';
import { StreamLimits } from '../limits/stream-limits.js';
import { LogRoom } from '../limits/log-room.js';
import { Metrics } from '../metrics/metrics.service.js';
import { SseConnections } from '../sse/sse-connections.js';
import { frameOf } from '../sse/sse-frames.js';
import { JobStreamController } from './job-stream.controller.js';
import { JobInputService } from './job-input.service.js';
import { JobStreamService } from './job-stream.service.js';
import { HOT_CACHE, LIVE_HUB, REPLAY_SOURCE, SNAPSHOT_CACHE } from './jobs.constants.js';
import { SnapshotsService } from './snapshots.service.js';
import { StreamPlanner } from './stream-planner.js';
import { JobsController } from './jobs.controller.js';
import { JobsNatsController } from './jobs.nats.controller.js';
import { JobsService } from './jobs.service.js';
import { ShareStreams } from '../shares/share-streams.js';

@Module({
  controllers: [JobsController, JobStreamController, JobsNatsController],
  providers: [
    LogRoom,
    { provide: SNAPSHOT_CACHE, inject: [EVENT_LOG], useFactory: (log: EventLog) => new SnapshotCache(log) },
    {
      provide: HOT_CACHE,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new HotCache({
          maxEvents: config.hotCache.events,
          maxJobBytes: config.hotCache.jobBytes,
          maxBytes: config.hotCache.maxBytes,
          graceMs: config.hotCache.graceMs,
          maxAgeMs: config.eventRetentionMs,
        }),
    },
    {
      provide: LIVE_HUB,
      inject: [EVENT_LOG, SNAPSHOT_CACHE, HOT_CACHE],
      // each live event, once per job per process: its SSE frame, the job's cached state moves on, and it joins the
      // job's window of recent events (joins and resumes replay from there)
      useFactory: (log: EventLog, snapshots: SnapshotCache, hot: HotCache) =>
        new LiveHub<string>(
          log,
          (e) => {
            snapshots.observe(e);
            return frameOf(e);
          },
          { hot: hot.enabled ? hot : undefined },
        ),
    },
    {
      provide: REPLAY_SOURCE,
      inject: [EVENT_LOG, LIVE_HUB, HOT_CACHE],
      // the one reader of the hot window: a job's history from it when it holds the events, else from the log
      useFactory: (log: EventLog, hub: LiveHub<string>, hot: HotCache) =>
        new ReplaySource(log, hub, hot.enabled ? hot : undefined),
    },
    SnapshotsService,
    StreamPlanner,
    JobsService,
    JobInputService,
    JobStreamService,
    SseConnections,
    StreamLimits,
    ShareStreams,
  ],
  exports: [
    JobsService,
    JobStreamService,
    JobInputService,
    StreamPlanner,
    StreamLimits,
    SseConnections,
    LIVE_HUB,
    REPLAY_SOURCE,
    LogRoom,
  ],
})
export class JobsModule {
  constructor(
    metrics: Metrics,
    connections: SseConnections,
    @Inject(LIVE_HUB) hub: LiveHub<string>,
    @Inject(SNAPSHOT_CACHE) snapshots: SnapshotCache,
    @Inject(EVENT_LOG) log: EventLog,
    @Inject(HOT_CACHE) hot: HotCache,
  ) {
    // open streams, hub entries, the snapshot cache and the embedded log's budget are read when /metrics is scraped
    metrics.bindStreams(
      () => connections.stats,
      () => hub.stats(),
    );
    metrics.bindSnapshots(() => snapshots.stats());
    metrics.bindHotCache(() => hot.stats());
    metrics.bindEventLog(() => log.usage());
  }
}
