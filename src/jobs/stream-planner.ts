/**
 * Turns a stream request's query (cursor, `snapshot`, `types`, `format`) into what the stream service needs: where
 * to start, how to render each event, what comes first, and the extra response headers. Kept out of the controller
 * (thin) and out of the stream service (the merge of live and replayed events knows nothing of formats).
 */
import { Injectable } from '@nestjs/common';
import type { JobRecord } from '@jobstream/job-store';
import { ApiError } from '../common/api-error.js';
import { frameOf } from '../sse/sse-frames.js';
import type { StreamQuery } from './dto/queries.js';
import { JobStreamService, type StreamRender, type StreamStart } from './job-stream.service.js';
import { SnapshotsService } from './snapshots.service.js';
import { AgUiEncoder } from './stream-formats/ag-ui.encoder.js';
import { agUiRender, parseAgUiCursor, type AgUiWindow } from './stream-formats/ag-ui.render.js';
import { AI_SDK_PROTOCOL_VERSION, AI_SDK_STREAM_HEADER, AiSdkEncoder } from './stream-formats/ai-sdk.encoder.js';
import { FILTER_HEADER, parseEventFilter } from './stream-formats/event-filter.js';

export interface StreamPlan {
  start: StreamStart;
  render: StreamRender;
  /** Set on the response before it starts. */
  headers: Record<string, string>;
}

@Injectable()
export class StreamPlanner {
  constructor(
    private readonly streams: JobStreamService,
    private readonly snapshots: SnapshotsService,
  ) {}

  /** Validates the query and resolves the cursor; throws the API's 4xx (or 410) before anything is sent. */
  async plan(job: JobRecord, q: StreamQuery, lastEventId: string | undefined): Promise<StreamPlan> {
    const filter = parseEventFilter(q.types);
    const headers: Record<string, string> = filter ? { [FILTER_HEADER]: filter.header } : {};
    const render: StreamRender = {};
    if (q.format === 'ai-sdk') {
      // the AI SDK's resume replays the whole message: always from the job's first event (a cursor is ignored)
      if (q.snapshot)
        throw ApiError.invalid('snapshot cannot be combined with format=ai-sdk (it always replays the whole message)');
      const start = await this.streams.resolveCursor(job, undefined, { fromMemory: true });
      const encoder = new AiSdkEncoder(job.id);
      render.frame = (e) => (filter && !filter.allows(e.event.type) ? '' : encoder.frames(e.event));
      headers[AI_SDK_STREAM_HEADER] = AI_SDK_PROTOCOL_VERSION;
      return { start, render, headers };
    }
    if (q.format === 'ag-ui') {
      if (q.snapshot || filter) throw ApiError.invalid('snapshot and types cannot be combined with format=ag-ui');
      return this.agUi(job, lastEventId ?? q.after, {});
    }
    // The Last-Event-ID header wins over ?after=.
    const start = await this.streams.resolveCursor(job, lastEventId ?? q.after, { fromMemory: true });
    if (filter) render.frame = (e) => (filter.allows(e.event.type) ? frameOf(e) : '');
    if (q.snapshot) render.prelude = SnapshotsService.frame(await this.snapshots.at(job.id, start.after));
    return { start, render, headers };
  }

  /**
   * The job as AG-UI events (ag-ui.render.ts): always read from the first event (ids derive from the log); the
   * cursor, checked like any cursor, says which frames were seen. `window` narrows it for `POST /v1/ag-ui`.
   */
  async agUi(job: JobRecord, rawCursor: string | undefined, window: AgUiWindow): Promise<StreamPlan> {
    const cursor = parseAgUiCursor(rawCursor);
    if (cursor) {
      const at = (await this.streams.resolveCursor(job, cursor.base, { fromMemory: true })).after;
      window = { ...window, after: { at, frame: cursor.frame } };
    }
    const start = await this.streams.resolveCursor(job, undefined, { fromMemory: true });
    const named = agUiNames(job);
    return { start, render: agUiRender(new AgUiEncoder(job.id, named), window), headers: {} };
  }
}

/** AG-UI's thread and first run id of a job: those of the AG-UI run that made it, else the thread's / the job's id. */
export function agUiNames(job: JobRecord): { threadId: string; runId: string } {
  const meta = job.metadata?.['ag_ui'];
  const m = meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>) : {};
  return {
    threadId: typeof m['thread_id'] === 'string' ? m['thread_id'] : (job.thread_id ?? job.id),
    runId: typeof m['run_id'] === 'string' ? m['run_id'] : job.id,
  };
}
