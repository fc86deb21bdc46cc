/**
 * The API on a partitioned event log (JETSTREAM_PARTITIONS=3, JetStream + Redis from the harness): streaming and
 * resume (live fan-out, replay, hot cache, snapshots) and the webhooks feed over every partition's stream.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { eventPartition } from '@jobstream/event-log';
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
});
