/**
 * Every job as a read-only Durable Stream (`/ds/v1/stream/jobs/<job_id>`): JSON mode, one message per event (its
 * JSON exactly as in the SSE `data`), in seq order, closed after the terminal event. Offsets are
 * `<seq>_<log position>` (16 digits each), so a resume needs no lookup. Reads go through the same live hub and
 * replay source as the SSE stream: a reader of a running job attaches a sink to the job's one shared feed (no
 * consumer of its own) and replays from the hot window, or the log before it.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { START, type EventPosition } from '@jobstream/contracts';
import { isTerminalLogged, seqOf, type LiveHub, type LoggedEvent, type ReplaySource } from '@jobstream/event-log';
import { LIVE_HUB, REPLAY_SOURCE } from '../jobs/jobs.constants.js';
import { JobStreamService } from '../jobs/job-stream.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { H, formatOffset, offsetPair } from './ds-protocol.js';
import { DsReader, readQuery, type ReadFrame, type ReadSource, type ReadState } from './ds-read-http.js';
import type { JobStreamsReader } from './ds-http.js';

const JSON_TYPE = 'application/json';
const encoder = new TextEncoder();

const offsetOf = (e: LoggedEvent) => formatOffset(e.pos, seqOf(e));

@Injectable()
export class DsJobStreams implements JobStreamsReader {
  private reader: DsReader | null = null;

  constructor(
    private readonly jobs: JobsService,
    private readonly streams: JobStreamService,
    @Inject(LIVE_HUB) private readonly hub: LiveHub<string>,
    @Inject(REPLAY_SOURCE) private readonly replay: ReplaySource,
  ) {}

  /** Set by the module (the long-poll wait comes from the config). */
  useReader(reader: DsReader): void {
    this.reader = reader;
  }

  async get(tenant: string, jobId: string, req: Request, res: Response, head: boolean): Promise<void> {
    const q = head ? {} : readQuery(req.originalUrl);
    const job = await this.jobs.record(tenant, jobId); // another tenant's job: 404
    const start = await this.streams.resolveCursor(job, null, { fromMemory: true });
    let last: LoggedEvent | null = start.last;
    const state = (): ReadState => ({
      contentType: JSON_TYPE,
      closed: last !== null && isTerminalLogged(last),
      tail: last ? offsetOf(last) : formatOffset(0),
      etag: jobId,
    });
    if (head) {
      const s = state();
      res.setHeader('Content-Type', JSON_TYPE);
      res.setHeader(H.nextOffset, s.tail);
      res.setHeader('Cache-Control', 'no-store');
      if (s.closed) res.setHeader(H.closed, 'true');
      return void res.status(200).end();
    }
    // A running job: join its feed first (what follows the hub's window reaches us live), then read.
    const listeners = new Set<() => void>();
    let leave: (() => void) | null = null;
    if (!state().closed) {
      leave = await this.hub.subscribe(jobId, {
        next: (e) => {
          if (!last || seqOf(e) > seqOf(last)) last = e;
          for (const l of listeners) l();
        },
        error: () => {
          for (const l of listeners) l();
        },
      });
    }
    const reader = this.replay.reader(jobId);
    const src: ReadSource = {
      state: () => Promise.resolve(state()),
      frames: async (after, max): Promise<ReadFrame[]> => {
        const [seq, pos] = offsetPair(after);
        const from: EventPosition = seq === 0 ? START : { seq, pos };
        const events = await reader.read(from, max);
        for (const e of events) if (!last || seqOf(e) > seqOf(last)) last = e;
        return events.map((e) => ({ offset: offsetOf(e), data: encoder.encode(e.json ?? JSON.stringify(e.event)) }));
      },
      watch: (listener) => {
        listeners.add(listener);
        return Promise.resolve({ stop: () => listeners.delete(listener) });
      },
    };
    try {
      await this.reader!.get(req, res, src, state(), q);
    } finally {
      reader.close();
      leave?.();
    }
  }
}
