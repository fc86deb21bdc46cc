/**
 * Idempotent producers (Kafka-style): each `Producer-Id` has an epoch and the last accepted seq per stream. A new
 * epoch fences the old one (a zombie writer gets 403); within an epoch seqs go 0, 1, 2 … without gaps; a seq
 * already accepted is a retry (answered 204, nothing appended).
 */
import { DsError } from './ds-error.js';
import { H, type ProducerTuple } from './ds-protocol.js';
import type { DsStreamRecord } from './store/ds-store.port.js';

export type ProducerCheck = { kind: 'append' } | { kind: 'duplicate'; epoch: number; seq: number };

/** The retry check, before anything else (a retry of an append that closed the stream is still a retry). */
export function isDuplicate(rec: DsStreamRecord, p: ProducerTuple): ProducerCheck | null {
  const cur = rec.producers[p.id];
  if (cur && p.epoch === cur.epoch && p.seq <= cur.seq) return { kind: 'duplicate', epoch: cur.epoch, seq: cur.seq };
  if (rec.closedBy && rec.closedBy.id === p.id && rec.closedBy.epoch === p.epoch && rec.closedBy.seq === p.seq) {
    return { kind: 'duplicate', epoch: p.epoch, seq: p.seq };
  }
  return null;
}

/** Refuses a stale epoch (403). */
export function checkEpoch(rec: DsStreamRecord, p: ProducerTuple): void {
  const cur = rec.producers[p.id];
  if (cur && p.epoch < cur.epoch) {
    throw new DsError(403, 'stale_producer_epoch', `producer ${p.id} is on epoch ${cur.epoch}`, {
      [H.producerEpoch]: String(cur.epoch),
    });
  }
}

/** Refuses a gap (409 with the expected seq) or a new epoch that does not start at 0 (400). */
export function checkSequence(rec: DsStreamRecord, p: ProducerTuple): void {
  const cur = rec.producers[p.id];
  const expected = !cur || p.epoch > cur.epoch ? 0 : cur.seq + 1;
  if (cur && p.epoch > cur.epoch && p.seq !== 0) {
    throw DsError.bad('invalid_producer_seq', `a new epoch starts at Producer-Seq 0, not ${p.seq}`);
  }
  if (p.seq !== expected) {
    throw DsError.conflict('producer_seq_gap', `producer ${p.id} expected seq ${expected}, got ${p.seq}`, {
      [H.expectedSeq]: String(expected),
      [H.receivedSeq]: String(p.seq),
    });
  }
}
