/**
 * Bodies of appends and reads. A frame is what one append stored: the raw bytes, or in JSON mode its messages as
 * JSON texts joined by commas (an array body is flattened one level into its items; any other value is one
 * message), so that a read is `[` + frames joined by `,` + `]`.
 */
import { DsError } from './ds-error.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON-mode body → the frame to store, or null for an empty array (allowed on create only). */
export function jsonFrame(body: Uint8Array): Uint8Array | null {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch {
    throw DsError.bad('invalid_json', 'the body is not valid JSON');
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return null;
  return encoder.encode(items.map((v) => JSON.stringify(v)).join(','));
}

/** The first `n` messages (JSON) or bytes of a frame; null when the frame is shorter than `n`. */
export function framePrefix(data: Uint8Array, n: number, json: boolean): Uint8Array | null {
  if (!json) return n <= data.length ? data.slice(0, n) : null;
  const items = JSON.parse(`[${decoder.decode(data)}]`) as unknown[];
  if (n > items.length) return null;
  return encoder.encode(
    items
      .slice(0, n)
      .map((v) => JSON.stringify(v))
      .join(','),
  );
}

/** The body of a catch-up read. */
export function readBody(frames: Uint8Array[], json: boolean): Buffer {
  if (!json) return Buffer.concat(frames);
  const parts: Buffer[] = [Buffer.from('[')];
  frames.forEach((f, i) => {
    if (i > 0) parts.push(Buffer.from(','));
    parts.push(Buffer.from(f));
  });
  parts.push(Buffer.from(']'));
  return Buffer.concat(parts);
}
