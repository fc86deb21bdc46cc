/**
 * The `Nats-Sequence` header of a message read from the raw header block when nats.js exposes it (`MsgImpl`'s
 * `_rdata` / `_msg.hdr`), without decoding every header into a map: on the live path (republished messages) and for
 * direct-get replies. Anything unexpected gives undefined, and the caller asks nats.js.
 */
import type { Msg } from 'nats';

const SEQ_HEADER = new TextEncoder().encode('\r\nNats-Sequence:');

/**
 * The value of the first (or with `last`, the LAST) `Nats-Sequence:` line of a header block `buf[0, end)`, or
 * undefined when there is none or that line is not a plain number. A direct-get reply carries the stored message's
 * own headers first and the server's after them, so it is read with `last`; a republished message has one.
 */
export function natsSequenceIn(buf: Uint8Array, end: number, last = false): number | undefined {
  const n = SEQ_HEADER.length;
  let found: number | undefined;
  outer: for (let i = buf.indexOf(0x0d); i >= 0 && i + n <= end; i = buf.indexOf(0x0d, i + 1)) {
    for (let k = 1; k < n; k++) if (buf[i + k] !== SEQ_HEADER[k]) continue outer;
    let j = i + n;
    while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    let v = 0;
    const from = j;
    for (; j < end && buf[j]! >= 0x30 && buf[j]! <= 0x39 && j - from < 16; j++) v = v * 10 + buf[j]! - 0x30;
    while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    found = j === from || j - from > 15 || buf[j] !== 0x0d ? undefined : v; // not a plain number: let nats.js say
    if (!last) return found;
  }
  return found;
}

/** {@link natsSequenceIn} with `last` (direct-get replies). */
export function lastNatsSequenceIn(buf: Uint8Array, end: number): number | undefined {
  return natsSequenceIn(buf, end, true);
}

/** `Nats-Sequence` from the message's raw header block (first line, or the last with `last`), else undefined. */
export function rawNatsSequence(m: Msg, last = false): number | undefined {
  const raw = m as unknown as { _rdata?: unknown; _msg?: { hdr?: unknown } };
  const buf = raw._rdata;
  const hdr = raw._msg?.hdr;
  if (!(buf instanceof Uint8Array) || typeof hdr !== 'number' || hdr <= 0 || hdr > buf.length) return undefined;
  return natsSequenceIn(buf, hdr, last);
}
