/**
 * `npm run soak:cluster`: randomized failover rounds on the 3-node cluster rig (see cluster-scenario.ts). Each
 * round picks, from its seed, the victim (the events stream's leader or any node), the down time and the number
 * of jobs; it prints the seed and the round's results, then a summary. Re-run one round with SOAK_SEED=<seed>
 * SOAK_ROUNDS=1. Not part of `npm test` (the `soak` Jest project exists only when JOBSTREAM_SOAK is set).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { seededRandom } from '@jobstream/sdk';
import { runRound, startRig, type RoundResult, type Rig } from './cluster-scenario.js';

const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 10);
const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
const out = (line: string) => process.stdout.write(`${line}\n`);

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
}, 120_000);
afterAll(async () => {
  await rig?.close();
});

describe(`cluster soak: ${ROUNDS} rounds from seed ${SEED}`, () => {
  it('keeps every client exact in every round', async () => {
    out(`soak:cluster seed ${SEED}, ${ROUNDS} rounds`);
    const results: RoundResult[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      const seed = SEED + k;
      const rnd = seededRandom(seed);
      const pick = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
      const started = Date.now();
      const r = await runRound(rig, {
        seed,
        victim: rnd() < 0.6 ? 'leader' : 'random',
        downMs: pick(500, 10_000),
        jobsBefore: pick(3, 8),
        jobsDuring: pick(1, 5),
        jobsAfter: pick(1, 5),
        words: pick(40, 100),
        delayMs: pick(20, 60),
        deadlineMs: 180_000,
      });
      results.push(r);
      const bad = r.clients.filter(
        (c) => !(c.exact && c.denseSeq && c.terminal === 'done' && c.status === 'completed'),
      );
      out(
        `round ${k + 1}/${ROUNDS} seed ${seed}: victim ${r.victim}${r.wasLeader ? ' (events leader)' : ''}, down ${r.downMs} ms, ` +
          `failover ${r.failoverMs ?? '-'} ms, 503s ${r.count503}, other 5xx ${r.other5xx}, clients ${r.clients.length}, ` +
          `exact ${r.exact ? 'yes' : 'NO'}, ${Math.round((Date.now() - started) / 1000)} s ${JSON.stringify(r.byKind)}` +
          (bad.length ? `\n  not exact: ${JSON.stringify(bad)}` : ''),
      );
    }
    const fo = results
      .map((r) => r.failoverMs)
      .filter((x): x is number => x !== null)
      .sort((a, b) => a - b);
    const exact = results.filter((r) => r.exact).length;
    out(
      `soak:cluster summary (seed ${SEED}): rounds ${results.length}, exact ${exact}/${results.length}, ` +
        `failover ms min ${fo[0]} median ${fo[Math.floor(fo.length / 2)]} max ${fo[fo.length - 1]}, ` +
        `503s total ${results.reduce((a, r) => a + r.count503, 0)}, other 5xx ${results.reduce((a, r) => a + r.other5xx, 0)}`,
    );
    expect(exact).toBe(results.length);
  }, 3_600_000);
});
