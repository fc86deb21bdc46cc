import { EventEmitter } from 'node:events';
import { describe, expect, it, jest } from '@jest/globals';
import type { Request, Response } from 'express';
import { Subject } from 'rxjs';
import { writeSse, TurnFlusher, type SseSink } from './sse-writer.js';
import type { SseConnection, SseConnections } from './sse-connections.js';

/** A fake response that records every write handed to it. */
function fakeRes() {
  const res = new EventEmitter() as EventEmitter & Record<string, unknown>;
  const writes: string[] = [];
  let ended: string | null = null;
  Object.assign(res, {
    writableLength: 0,
    writableNeedDrain: false,
    writeHead: jest.fn(),
    write: (chunk: string) => {
      writes.push(chunk);
      return !res.writableNeedDrain;
    },
    end: (chunk?: string) => {
      ended = chunk ?? '';
    },
    destroy: jest.fn(),
  });
  return { res: res as unknown as Response, writes, ended: () => ended };
}

function setup(chunked = false, opts: { maxBufferBytes?: number; stallTimeoutMs?: number } = {}) {
  const socket = { setNoDelay: jest.fn(), setKeepAlive: jest.fn(), setTimeout: jest.fn() };
  const req = { socket } as unknown as Request;
  const { res, writes, ended } = fakeRes();
  // the response's own socket, as Node's http server links them (used for a lone keepalive on a chunked response)
  const socketWrites: Buffer[] = [];
  if (chunked) {
    Object.assign(res, {
      chunkedEncoding: true,
      writableEnded: false,
      socket: { writable: true, _httpMessage: res, write: (b: Buffer) => socketWrites.push(b) },
    });
  }
  let conn: SseConnection | null = null;
  const registry = {
    add: (c: SseConnection) => (conn = c),
    remove: jest.fn(),
    noteSlowDrop: jest.fn(),
    stats: { open: 0, heartbeats: 0, droppedSlow: 0, eventsDelivered: 0 },
  } as unknown as SseConnections;
  const source = new Subject<string>();
  let sink: SseSink | null = null;
  writeSse(
    req,
    res,
    registry,
    (s) => {
      sink = s;
      return source;
    },
    { tenant: 't', jobId: 'j', retryMs: 1000, maxBufferBytes: 1 << 20, ...opts },
  );
  return {
    writes,
    socketWrites,
    ended,
    source,
    res: res as unknown as Record<string, unknown> & { writableLength: number; destroy: jest.Mock },
    registry: registry as unknown as { noteSlowDrop: jest.Mock },
    conn: () => conn!,
    sink: () => sink!,
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('writeSse write coalescing', () => {
  it('flushes the opening frame at once and joins the frames of one turn into one write', async () => {
    const t = setup();
    expect(t.writes).toEqual(['retry: 1000\n: keepalive\n\n']);
    t.source.next('a\n\n');
    t.source.next('b\n\n');
    t.conn().write(': keepalive\n\n');
    expect(t.writes).toHaveLength(1); // nothing handed over yet this turn
    await turn();
    expect(t.writes.slice(1)).toEqual(['a\n\nb\n\n: keepalive\n\n']);
    t.source.next('c\n\n');
    await turn();
    expect(t.writes.slice(1)).toEqual(['a\n\nb\n\n: keepalive\n\n', 'c\n\n']);
  });

  it('ends with the frames still pending, in order', () => {
    const t = setup();
    t.source.next('a\n\n');
    t.source.next('z\n\n');
    t.source.complete();
    expect(t.ended()).toBe('a\n\nz\n\n');
  });

  it('hands pending frames over before reporting writability (replay back-pressure sees them)', async () => {
    const t = setup();
    t.source.next('page\n\n');
    await t.sink().whenWritable();
    expect(t.writes.slice(1)).toEqual(['page\n\n']);
    await turn();
    expect(t.writes).toHaveLength(2); // not written twice
  });

  it('adds the shutdown hint after pending frames', () => {
    const t = setup();
    t.source.next('a\n\n');
    t.conn().end('shutdown');
    expect(t.ended()).toMatch(/^a\n\nretry: 1000\n: server shutting down/);
  });
});

describe('TurnFlusher', () => {
  it('runs every scheduled flush once per turn with a single setImmediate', async () => {
    const f = new TurnFlusher();
    const spy = jest.spyOn(global, 'setImmediate');
    const calls: number[] = [];
    f.schedule(() => calls.push(1));
    f.schedule(() => calls.push(2));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    await turn();
    expect(calls).toEqual([1, 2]);
    f.schedule(() => calls.push(3));
    await turn();
    expect(calls).toEqual([1, 2, 3]);
  });
});

describe('writeSse keepalives', () => {
  it('sends a keepalive of an idle chunked response to its socket at once, as one pre-built chunk (the bytes res.write would send)', () => {
    const t = setup(true);
    expect(t.conn().keepalive()).toBe(true);
    // no turn needed: an idle stream's keepalive does not go through the per-turn flusher
    expect(t.socketWrites.map((b) => b.toString('latin1'))).toEqual(['d\r\n: keepalive\n\n\r\n']); // 13 bytes = 0xd
    expect(t.writes).toEqual(['retry: 1000\n: keepalive\n\n']); // only the opening frame went through res.write
  });

  it('joins a keepalive with the frames of its turn through res.write', async () => {
    const t = setup(true);
    t.source.next('a\n\n');
    t.conn().keepalive();
    await turn();
    expect(t.writes.slice(1)).toEqual(['a\n\n: keepalive\n\n']);
    expect(t.socketWrites).toEqual([]);
  });

  it('writes a keepalive through res.write when the response is not chunked (HTTP/1.0)', async () => {
    const t = setup(false);
    t.conn().keepalive();
    await turn();
    expect(t.writes.slice(1)).toEqual([': keepalive\n\n']);
  });

  it('hands a keepalive over with the turn when the socket still has unsent output', async () => {
    const t = setup(true);
    t.res.writableLength = 100;
    expect(t.conn().keepalive()).toBe(true);
    expect(t.socketWrites).toEqual([]);
    await turn();
    expect(t.socketWrites.map((b) => b.toString('latin1'))).toEqual(['d\r\n: keepalive\n\n\r\n']);
  });

  it('drops a client whose unsent output stays over the bound across two keepalives (the slow-client rule)', async () => {
    const t = setup(true);
    t.res.writableLength = 2 << 20; // over maxBufferBytes (1 MiB), no drain in between
    expect(t.conn().keepalive()).toBe(true);
    await turn();
    expect(t.conn().keepalive()).toBe(false);
    expect(t.registry.noteSlowDrop).toHaveBeenCalledTimes(1);
    expect(t.res.destroy).toHaveBeenCalled();
    expect(t.conn().keepalive()).toBe(false);
  });
});

describe('writeSse memory bounds', () => {
  it('drops a client when one burst alone outgrows the bound twice while the socket takes nothing (a flood of live events in one turn)', () => {
    const t = setup(false, { maxBufferBytes: 64 * 1024 });
    // a socket that takes nothing: everything handed over stays in its buffer
    (t.res as unknown as { write: (c: string) => boolean }).write = (c: string) => {
      t.res.writableLength += c.length;
      return false;
    };
    const frame = `data: ${'x'.repeat(10_000)}\n\n`;
    let written = 0;
    for (let i = 0; i < 100 && written === i; i++) if (t.conn().write(frame)) written++;
    // 6 frames, handed over at the 7th (under the bound), 6 more handed over at the 13th (over it once), 6 more at
    // the 19th (over it twice without a drain): dropped
    expect(written).toBe(18);
    expect(t.res.writableLength).toBeLessThan(3 * 64 * 1024);
    expect(t.registry.noteSlowDrop).toHaveBeenCalledTimes(1);
    expect(t.res.destroy).toHaveBeenCalled();
  });

  it('keeps a client whose socket takes a big burst (its buffer stays under the bound)', async () => {
    const t = setup(false, { maxBufferBytes: 64 * 1024 });
    const frame = `data: ${'x'.repeat(10_000)}\n\n`;
    for (let i = 0; i < 100; i++) expect(t.conn().write(frame)).toBe(true);
    await turn();
    expect(t.writes.slice(1).join('').length).toBe(100 * frame.length);
    expect(t.registry.noteSlowDrop).not.toHaveBeenCalled();
  });

  it('lets a frame larger than the bound through after other frames of its burst', async () => {
    const t = setup(false, { maxBufferBytes: 16 * 1024 });
    expect(t.conn().write('a\n\n')).toBe(true);
    expect(t.conn().write(`data: ${'y'.repeat(100_000)}\n\n`)).toBe(true);
    await turn();
    expect(t.writes.slice(1).join('')).toBe(`a\n\ndata: ${'y'.repeat(100_000)}\n\n`);
    expect(t.registry.noteSlowDrop).not.toHaveBeenCalled();
  });

  it('lets a single frame larger than the bound through (the first of its burst): any event can be delivered', async () => {
    const t = setup(false, { maxBufferBytes: 16 * 1024 });
    expect(t.conn().write(`data: ${'y'.repeat(100_000)}\n\n`)).toBe(true);
    await turn();
    expect(t.writes).toHaveLength(2);
    expect(t.registry.noteSlowDrop).not.toHaveBeenCalled();
  });

  it('drops a client whose socket has not drained for the stall timeout (a replay waiting on a reader that stopped)', async () => {
    let now = 1_000;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const t = setup(false, { stallTimeoutMs: 5_000 });
      t.source.next('page\n\n');
      t.res.writableNeedDrain = true; // the socket refuses more: replay waits for 'drain'
      t.res.writableLength = 200_000;
      const waiting = t.sink().whenWritable();
      now += 4_000;
      expect(t.conn().keepalive()).toBe(true); // not yet
      await turn();
      now += 2_000;
      expect(t.conn().keepalive()).toBe(false); // 6 s without a drain
      expect(t.registry.noteSlowDrop).toHaveBeenCalledTimes(1);
      expect(t.res.destroy).toHaveBeenCalled();
      await waiting; // the replay's wait is released (the session is unsubscribed)
    } finally {
      clock.mockRestore();
    }
  });

  it('keeps a client that drains, however long it takes in total', async () => {
    let now = 1_000;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const t = setup(false, { stallTimeoutMs: 5_000 });
      for (let i = 0; i < 5; i++) {
        t.source.next('page\n\n');
        t.res.writableNeedDrain = true;
        const waiting = t.sink().whenWritable();
        now += 4_000;
        t.res.writableNeedDrain = false;
        (t.res as unknown as EventEmitter).emit('drain');
        await waiting;
      }
      expect(t.conn().keepalive()).toBe(true);
      expect(t.registry.noteSlowDrop).not.toHaveBeenCalled();
    } finally {
      clock.mockRestore();
    }
  });
});
