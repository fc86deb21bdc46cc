/**
 * Snapshots (resume v2): the job's state at a cursor, as the `snapshot` SSE event and `GET /v1/jobs/:id/snapshot`.
 * The state comes from the shared reducer through the process-wide {@link SnapshotCache} (no full replay per
 * request; see there for the costs).
 */
import { Inject, Injectable } from '@nestjs/common';
import { encodeCursor, toJobSnapshot, type EventPosition, type JobSnapshot } from '@jobstream/contracts';
import { SnapshotUnavailableError, type SnapshotCache } from '@jobstream/event-log';
import { ApiError } from '../common/api-error.js';
import { SNAPSHOT_CACHE } from './jobs.constants.js';

export interface PlacedSnapshot {
  /** The cursor the snapshot describes (`0` at the start): resume the events after it. */
  id: string;
  snapshot: JobSnapshot;
}

@Injectable()
export class SnapshotsService {
  constructor(@Inject(SNAPSHOT_CACHE) private readonly cache: SnapshotCache) {}

  /** The snapshot after `at` (a position the caller has checked against the log). */
  async at(jobId: string, at: EventPosition): Promise<PlacedSnapshot> {
    try {
      const { state, pos } = await this.cache.stateAt(jobId, at);
      const id = state.seq === 0 ? '0' : encodeCursor(jobId, { seq: state.seq, pos });
      return { id, snapshot: toJobSnapshot(jobId, state) };
    } catch (err) {
      if (err instanceof SnapshotUnavailableError) {
        throw new ApiError(
          410,
          'cursor_expired',
          "the job's early events are no longer retained: its state cannot be rebuilt",
        );
      }
      throw err;
    }
  }

  /** The `snapshot` SSE frame. */
  static frame(p: PlacedSnapshot): string {
    return `id: ${p.id}\nevent: snapshot\ndata: ${JSON.stringify(p.snapshot)}\n\n`;
  }
}
