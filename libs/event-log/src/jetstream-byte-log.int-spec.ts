import { afterAll, beforeAll } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type RunningNats } from '../../../test/harness/servers.js';
import { JetStreamByteLog } from './jetstream-byte-log.js';
import { byteLogConformance } from './testing/byte-log.conformance.js';

let nats: RunningNats;
const conns: NatsConnection[] = [];
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close()));
  await nats.destroy();
});

// Every handle has its own connection: the suite's two instances are two processes.
byteLogConformance('jetstream', async () => {
  const nc = await connect({ servers: nats.url });
  conns.push(nc);
  return JetStreamByteLog.create({ nc });
});
