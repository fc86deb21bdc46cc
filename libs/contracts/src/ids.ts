/**
 * Time-sortable job ids: `job_` + a ULID (Crockford base32: 48-bit ms time + 80 random bits), monotonic within a
 * process (two ids of the same millisecond increase), so that "newest first" is id order.
 */

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRand: number[] = [];

function randomDigits(): number[] {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  // leave headroom in the top digit so increments within one millisecond never overflow in practice
  return Array.from(bytes, (b, i) => (i === 0 ? b & 15 : b & 31));
}

function increment(d: number[]): number[] {
  const next = d.slice();
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 31) {
      next[i]!++;
      return next;
    }
    next[i] = 0;
  }
  return randomDigits();
}

export function newUlid(now = Date.now()): string {
  let t = now;
  if (t <= lastTime) {
    t = lastTime;
    lastRand = increment(lastRand);
  } else {
    lastTime = t;
    lastRand = randomDigits();
  }
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + lastRand.map((d) => ALPHABET[d]).join('');
}

export function newJobId(now = Date.now()): string {
  return `job_${newUlid(now)}`;
}

export const THREAD_ID_PATTERN = /^thr_[0-9A-HJKMNP-TV-Z]{26}$/;
export function newThreadId(now = Date.now()): string {
  return `thr_${newUlid(now)}`;
}

export const SHARE_ID_PATTERN = /^shr_[0-9A-HJKMNP-TV-Z]{26}$/;
export function newShareId(now = Date.now()): string {
  return `shr_${newUlid(now)}`;
}
