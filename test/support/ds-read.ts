/** Reading a Durable Stream with the protocol's own client until it is closed. */
import type { StreamResponse } from '@durable-streams/client';

/** Pushes every JSON item of `res` into `items` as batches arrive (tests may watch it grow); resolves at the close. */
export function collectUntilClosed<T>(res: StreamResponse<T>, items: T[] = []): Promise<T[]> {
  return new Promise<T[]>((resolve, reject) => {
    const stop = res.subscribeJson((batch) => {
      items.push(...batch.items);
      if (batch.streamClosed) {
        stop();
        res.cancel();
        resolve(items);
      }
      return Promise.resolve();
    });
    res.closed.catch(reject);
  });
}
