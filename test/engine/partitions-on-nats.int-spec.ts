/**
 * The API on a partitioned event log (JETSTREAM_PARTITIONS=3, JetStream + Redis from the harness): streaming and
 * resume (live fan-out, replay, hot cache, snapshots), the webhooks feed over every partition's stream, and jobs read
 * as Durable Streams.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { stream } from '@durable-streams/client';
import type { JobEvent } from '@jobstream/contracts';
import { eventPartition, partitionOf } from '@jobstream/event-log';
import { readAll } from '../support/sse-client.js';
import { collectUntilClosed } from '../support/ds-read.js';
import { startNatsTestApp, type NatsTestApp } from '../support/nats-app.js';
import { resumeV2Suite } from '../suites/resume-v2.suite.js';
import { streamSuite } from '../suites/stream.suite.js';
import { webhooksSuite } from '../suites/webhooks.suite.js';

const partitioned = (env: Record<string, string>) => startNatsTestApp({ JETSTREAM_PARTITIONS: '3', ...env });
streamSuite('JetStream + Redis, 3 partitions', partitioned);
resumeV2Suite('JetStream + Redis, 3 partitions', partitioned);
webhooksSuite('JetStream + Redis, 3 partitions', partitioned);

describe('a partitioned event log (JETSTREAM_PARTITIONS=3)', () => {
  let app: NatsTestApp;
  beforeAll(async () => {
    app = await partitioned({});
  });
  afterAll(async () => {
    await app?.close();
  });

  it('spreads jobs over three streams, each job whole in one of them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await app.api('/v1/jobs', { body: { agent: 'echo', input: { message: `m${i}` } } });
      expect(r.status).toBe(201);
      ids.push(r.body.id as string);
    }
    const nc = await connect({ servers: app.nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const holding = new Set<number>();
      for (const id of ids) {
        const found: number[] = [];
        for (const i of [0, 1, 2]) {
          const p = eventPartition(i);
          const info = await jsm.streams.info(p.stream, { subjects_filter: `${p.subjectPrefix}.${id}` });
          if (Object.keys(info.state.subjects ?? {}).length > 0) found.push(i);
        }
        expect(found).toHaveLength(1);
        holding.add(found[0]!);
      }
      expect(holding.size).toBeGreaterThan(1);
    } finally {
      await nc.close();
    }
  });

  it('serves jobs of every partition as Durable Streams, live and after the end, as their SSE stream', async () => {
    const byPartition = new Map<number, string>();
    while (byPartition.size < 3) {
      const r = await app.api('/v1/jobs', {
        body: { agent: 'echo', input: { message: 'Partitioned.', delay_ms: 10 } },
      });
      const id = r.body.id as string;
      if (!byPartition.has(partitionOf(id, 3))) byPartition.set(partitionOf(id, 3), id);
      else await app.api(`/v1/jobs/${id}/wait?timeout_s=30`);
    }
    for (const [i, id] of byPartition) {
      const res = await stream<JobEvent>({
        url: `${app.url}/ds/v1/stream/jobs/${id}`,
        offset: '-1',
        live: i === 0 ? false : 'sse',
      });
      const items = await collectUntilClosed(res);
      const sse = await readAll(`${app.url}/v1/jobs/${id}/stream`);
      expect(items).toEqual(sse.events().map(({ id: _id, ...e }) => e));
      expect(items.at(-1)?.type).toBe('done');
    }
  });
});
