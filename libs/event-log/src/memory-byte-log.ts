/**
 * The embedded {@link ByteLog}: frames in memory, one position counter for all keys, wake-ups by callback.
 * Bounded by the caller (the Durable Streams layer caps bodies, streams and bytes per tenant).
 */
import {
  ByteLogConflictError,
  type ByteAppendOptions,
  type ByteAppendResult,
  type ByteFrame,
  type ByteLog,
  type ByteLogWatch,
} from './byte-log.port.js';

/** How long a `msgId` is remembered (as JetStream's duplicate window). */
const DEDUP_WINDOW_MS = 120_000;

interface Key {
  frames: ByteFrame[];
  ids: Map<string, { pos: number; at: number }>;
  listeners: Set<() => void>;
}

export class MemoryByteLog implements ByteLog {
  private pos = 0;
  private readonly keys = new Map<string, Key>();

  private key(name: string): Key {
    let k = this.keys.get(name);
    if (!k) {
      k = { frames: [], ids: new Map(), listeners: new Set() };
      this.keys.set(name, k);
    }
    return k;
  }

  append(name: string, data: Uint8Array, opts: ByteAppendOptions = {}): Promise<ByteAppendResult> {
    const k = this.key(name);
    const now = Date.now();
    if (opts.msgId !== undefined) {
      const seen = k.ids.get(opts.msgId);
      if (seen && now - seen.at < DEDUP_WINDOW_MS) return Promise.resolve({ pos: seen.pos, duplicate: true });
    }
    const last = k.frames.at(-1)?.pos ?? 0;
    if (opts.expectedLastPos !== undefined && opts.expectedLastPos !== last) {
      return Promise.reject(new ByteLogConflictError(name, opts.expectedLastPos));
    }
    const pos = ++this.pos;
    k.frames.push({ pos, data: new Uint8Array(data) });
    if (opts.msgId !== undefined) {
      for (const [id, v] of k.ids) if (now - v.at >= DEDUP_WINDOW_MS) k.ids.delete(id);
      k.ids.set(opts.msgId, { pos, at: now });
    }
    return Promise.resolve({ pos, duplicate: false });
  }

  read(name: string, after: number, maxFrames: number, maxBytes: number): Promise<ByteFrame[]> {
    const frames = this.keys.get(name)?.frames ?? [];
    // frames are in pos order: binary search for the first after `after`
    let lo = 0;
    let hi = frames.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (frames[mid]!.pos <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: ByteFrame[] = [];
    let bytes = 0;
    for (let i = lo; i < frames.length && out.length < maxFrames && bytes < maxBytes; i++) {
      out.push(frames[i]!);
      bytes += frames[i]!.data.length;
    }
    return Promise.resolve(out);
  }

  lastPos(name: string): Promise<number> {
    return Promise.resolve(this.keys.get(name)?.frames.at(-1)?.pos ?? 0);
  }

  watch(name: string, listener: () => void): Promise<ByteLogWatch> {
    const k = this.key(name);
    k.listeners.add(listener);
    return Promise.resolve({
      stop: () => {
        k.listeners.delete(listener);
        if (k.listeners.size === 0 && k.frames.length === 0 && k.ids.size === 0) this.keys.delete(name);
      },
    });
  }

  notify(name: string): void {
    const k = this.keys.get(name);
    if (k) for (const l of [...k.listeners]) l();
  }

  delete(name: string): Promise<void> {
    const k = this.keys.get(name);
    if (k) {
      k.frames = [];
      k.ids.clear();
      if (k.listeners.size === 0) this.keys.delete(name);
    }
    return Promise.resolve();
  }

  /** Frames and bytes held (for metrics). */
  usage(): { keys: number; frames: number; bytes: number } {
    let frames = 0;
    let bytes = 0;
    for (const k of this.keys.values()) {
      frames += k.frames.length;
      for (const f of k.frames) bytes += f.data.length;
    }
    return { keys: this.keys.size, frames, bytes };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
