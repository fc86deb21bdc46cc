import { describe, expect, it, jest } from '@jest/globals';
import { waitFor } from '../../libs/contracts/src/testing/wait.js';
import { PeriodicPass } from './periodic-pass.js';

describe('PeriodicPass', () => {
  it('runs the pass again and again, never two at once', async () => {
    jest.useFakeTimers();
    try {
      let inFlight = 0;
      let most = 0;
      let runs = 0;
      let release: () => void = () => {};
      const passes = new PeriodicPass(
        async () => {
          inFlight++;
          most = Math.max(most, inFlight);
          runs++;
          // the first pass is held while the timer fires again
          if (runs === 1) await new Promise<void>((r) => (release = r));
          inFlight--;
        },
        () => {},
      );
      passes.start(10);
      await jest.advanceTimersByTimeAsync(10);
      expect(runs).toBe(1);
      await jest.advanceTimersByTimeAsync(50); // five more ticks while the first pass is held
      expect(runs).toBe(1);
      release();
      await jest.advanceTimersByTimeAsync(20);
      expect(runs).toBe(3);
      await passes.stop();
      expect(most).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('reports failures with how many in a row, the count starting over after a success', async () => {
    const script = [false, false, true, false];
    const seen: number[] = [];
    let i = 0;
    const passes = new PeriodicPass(
      async () => {
        const ok = script[i++] ?? true;
        if (!ok) throw new Error('down');
      },
      (err, inARow) => seen.push(inARow),
    );
    passes.start(2);
    await waitFor(() => i >= script.length + 1, { message: 'the scripted passes' });
    await passes.stop();
    expect(seen).toEqual([1, 2, 1]);
  });

  it('stop waits for the pass under way, and no pass starts after it', async () => {
    let release: () => void = () => {};
    let runs = 0;
    let finished = false;
    const passes = new PeriodicPass(
      async () => {
        runs++;
        await new Promise<void>((r) => (release = r));
        finished = true;
      },
      () => {},
    );
    passes.start(2);
    await waitFor(() => runs === 1, { message: 'the first pass' });
    const stopped = passes.stop();
    release();
    await stopped;
    expect(finished).toBe(true);
    expect(runs).toBe(1);
  });
});
