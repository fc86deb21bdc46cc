/**
 * Back-pressure: a consumer that stops pulling must stop the SDK from reading the HTTP body, so the bytes pile up
 * in the transport (and finally block the server's writes) instead of in this process's memory.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { createStream } from './stream.js';
import { FakeJobstreamServer } from './testing/fake-server.js';

let server: FakeJobstreamServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const JOB = `job_${'0'.repeat(25)}1`;
const PAD = 'x'.repeat(1000);
const frame = (seq: number, type = 'token') =>
  `id: ${seq}-${seq}-aaaaaa\nevent: ${type}\ndata: ${JSON.stringify(
    type === 'done'
      ? {
          job_id: JOB,
          seq,
          ts: 't',
          attempt: 1,
          type,
          usage: { input_tokens: 0, output_tokens: 0 },
          output: { text: '' },
        }
      : { job_id: JOB, seq, ts: 't', attempt: 1, type, text: PAD },
  )}\n\n`;

describe('back-pressure', () => {
  it('stops reading the body while the bounded queue is full (exact pull count, injected fetch)', async () => {
    const TOTAL = 1000;
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          pulls++;
          c.enqueue(new TextEncoder().encode(frame(pulls, pulls === TOTAL ? 'done' : 'token')));
          if (pulls === TOTAL) c.close();
        },
      },
      { highWaterMark: 0 },
    );
    const fetch = async () => new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
    const QUEUE = 4;
    const stream = createStream(JOB, { baseUrl: 'http://unused', fetch, queueSize: QUEUE, reconnect: false });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.seq).toBe(1);
    // Give the pump every chance to run ahead.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    // One frame per chunk here: the queue refilled to its bound and reading stopped there.
    expect(stream.stats.buffered).toBe(QUEUE);
    expect(pulls).toBeLessThanOrEqual(1 + QUEUE + 1);
    let n = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) expect(r.value.seq).toBe(++n);
    expect(n).toBe(TOTAL);
    expect(stream.stats.maxBuffered).toBeLessThanOrEqual(QUEUE);
  });

  it('a slow consumer blocks the server instead of buffering the whole stream (node:http)', async () => {
    const TOTAL = 80_000; // ≈ 90 MB of SSE: far more than any socket buffering
    let written = 0;
    let seq = 0;
    let blocked = false;
    let finished = false;
    const writeMore = (res: ServerResponse) => {
      blocked = false;
      while (seq < TOTAL) {
        seq++;
        const s = frame(seq, seq === TOTAL ? 'done' : 'token');
        written += Buffer.byteLength(s);
        if (!res.write(s)) {
          blocked = true;
          res.once('drain', () => writeMore(res));
          return;
        }
      }
      finished = true;
      res.end();
    };
    server = await new FakeJobstreamServer({
      onStream: () => ({
        custom: (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          writeMore(res);
        },
      }),
    }).start();
    server.addJob([], JOB);

    const QUEUE = 16;
    // The transport decides its chunk size (64 KiB on Node 22's fetch, larger on Node 24's): record the largest,
    // since the SDK's bound is its queue plus the frames of one chunk.
    let maxChunk = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const res = await globalThis.fetch(input, init);
      const body = res.body!.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) {
            maxChunk = Math.max(maxChunk, chunk.byteLength);
            c.enqueue(chunk);
          },
        }),
        // no buffering of its own on either side, so what the SDK does not read stays in the transport
      );
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const framesPerChunk = () => Math.ceil(maxChunk / Buffer.byteLength(frame(2))) + 1;
    const stream = createStream(JOB, { baseUrl: server.baseUrl, queueSize: QUEUE, reconnect: false, fetch });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.seq).toBe(1);
    // Wait until the server is stuck on a write that cannot drain (its progress stops).
    let last = -1;
    while (!finished && !(blocked && written === last)) {
      last = written;
      await new Promise((r) => setTimeout(r, 50));
    }
    const totalBytes = TOTAL * Buffer.byteLength(frame(2));
    expect(finished).toBe(false);
    // What left the server sits in socket buffers and the fetch body stream, not in the SDK's queue:
    expect(written).toBeLessThan(totalBytes / 4);
    // The SDK holds at most its bound plus the frames of one network chunk.
    expect(maxChunk).toBeGreaterThan(0);
    expect(stream.stats.buffered).toBeLessThanOrEqual(QUEUE + framesPerChunk());
    expect(stream.stats.bytesRead).toBeLessThan(written);
    const readAtBlock = stream.stats.bytesRead;
    const writtenAtBlock = written;
    // Draining resumes the flow; nothing is lost or reordered.
    let n = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      if (r.value.seq !== n + 1) throw new Error(`expected seq ${n + 1}, got ${r.value.seq}`);
      n++;
    }
    expect(n).toBe(TOTAL);
    expect(stream.stats.maxBuffered).toBeLessThanOrEqual(QUEUE + framesPerChunk());
    // Seen locally: the server blocked after ~3.9 MB (kernel socket buffers); the SDK had read ~35 KB.
    expect(writtenAtBlock).toBeLessThan(totalBytes / 4);
    expect(readAtBlock).toBeLessThan(128 * 1024);
  });
});
