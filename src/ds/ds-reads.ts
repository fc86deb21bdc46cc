/**
 * Reading a stream: its frames after a position, across the segments it inherited from the streams it was forked
 * from (each up to its fork point) and then its own. Positions grow across segments (one log counter), so a read
 * simply goes through them in order.
 */
import type { ByteFrame, ByteLog } from '@jobstream/event-log';
import type { DsStreamRecord } from './store/ds-store.port.js';

export async function readFrames(
  log: ByteLog,
  rec: Pick<DsStreamRecord, 'id' | 'segments'>,
  after: number,
  maxFrames: number,
  maxBytes: number,
): Promise<ByteFrame[]> {
  const out: ByteFrame[] = [];
  let bytes = 0;
  let from = after;
  for (const seg of [...rec.segments, { id: rec.id, upTo: Number.MAX_SAFE_INTEGER }]) {
    if (seg.upTo <= from) continue;
    const frames = await log.read(seg.id, from, maxFrames - out.length, maxBytes - bytes);
    for (const f of frames) {
      if (f.pos > seg.upTo) break;
      out.push(f);
      bytes += f.data.length;
      from = f.pos;
    }
    if (out.length >= maxFrames || bytes >= maxBytes) break;
  }
  return out;
}
