/**
 * A client process (forked by the bench runner): opens SSE connections on command and reports their stats, so
 * the clients' CPU is spent outside the server processes being measured.
 *
 * Messages in:  { id, cmd: 'open', port, paths, mode, parallel } | { id, cmd: 'stats' } | { id, cmd: 'close' }
 * Messages out: { id, ok, ...result }
 */
import { openMany, newStats } from './sse-client.mjs';

let stats = newStats();
let socks = [];

process.on('message', async (m) => {
  try {
    if (m.cmd === 'open') {
      stats = newStats();
      const r = await openMany({ port: m.port, mode: m.mode, stats }, m.paths, m.parallel ?? 100);
      socks.push(...r.socks);
      process.send({ id: m.id, ok: true, opened: r.socks.length, errors: r.errors.slice(0, 5), nErrors: r.errors.length });
    } else if (m.cmd === 'stats') {
      const { hist, ...rest } = stats;
      const sparse = [];
      if (hist) for (let i = 0; i < hist.length; i++) if (hist[i]) sparse.push([i, hist[i]]);
      process.send({ id: m.id, ok: true, ...rest, first: Number.isFinite(rest.first) ? rest.first : null, hist: sparse });
    } else if (m.cmd === 'close') {
      for (const s of socks) s.destroy();
      socks = [];
      process.send({ id: m.id, ok: true });
    } else if (m.cmd === 'exit') {
      process.exit(0);
    }
  } catch (err) {
    process.send({ id: m.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
