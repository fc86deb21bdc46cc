import { describe, expect, it } from '@jest/globals';
import { Metrics } from './metrics.service.js';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('Metrics', () => {
  it('reads stream and hub state at scrape time, and counters never go backwards between scrapes', async () => {
    const m = new Metrics();
    const stats = { open: 2, heartbeats: 10, droppedSlow: 1, eventsDelivered: 100 };
    m.bindStreams(
      () => stats,
      () => ({ jobs: 1, sinks: 2 }),
    );
    let text = await m.render();
    expect(value(text, 'jobstream_sse_open_connections')).toBe(2);
    expect(value(text, 'jobstream_sse_events_delivered_total')).toBe(100);
    expect(value(text, 'jobstream_sse_heartbeats_total')).toBe(10);
    expect(value(text, 'jobstream_sse_dropped_slow_total')).toBe(1);
    expect(value(text, 'jobstream_live_hub_jobs')).toBe(1);
    expect(value(text, 'jobstream_live_hub_sinks')).toBe(2);
    stats.open = 0;
    stats.eventsDelivered = 250;
    text = await m.render();
    expect(value(text, 'jobstream_sse_open_connections')).toBe(0);
    expect(value(text, 'jobstream_sse_events_delivered_total')).toBe(250);
    expect(text).toContain('# TYPE jobstream_sse_events_delivered_total counter');
  });

  it('records transitions, runs, replays, limits and HTTP requests with bounded labels', async () => {
    const m = new Metrics();
    m.jobTransition('queued');
    m.jobTransition('queued');
    m.jobRunFinished('echo', 'completed', 0.3);
    m.replayCaughtUp(0.002);
    m.limitRejected('create_rate');
    m.httpRequest('GET', '/v1/jobs/:id', 404, 0.001);
    const text = await m.render();
    expect(value(text, 'jobstream_job_transitions_total{status="queued"}')).toBe(2);
    expect(value(text, 'jobstream_worker_job_duration_seconds_count{agent="echo",status="completed"}')).toBe(1);
    expect(value(text, 'jobstream_sse_replay_duration_seconds_count')).toBe(1);
    expect(value(text, 'jobstream_limit_rejections_total{limit="create_rate"}')).toBe(1);
    expect(
      value(text, 'jobstream_http_request_duration_seconds_count{method="GET",route="/v1/jobs/:id",status_code="404"}'),
    ).toBe(1);
  });

  it('uses its own registry: two instances do not collide', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.jobTransition('running');
    expect(value(await a.render(), 'jobstream_job_transitions_total{status="running"}')).toBe(1);
    expect(value(await b.render(), 'jobstream_job_transitions_total{status="running"}')).toBeUndefined();
  });
});
