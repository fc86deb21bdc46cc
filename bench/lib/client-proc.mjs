/**
 * A client process (forked by the bench runner): opens SSE connections on command and reports their stats, so
 * the clients' CPU is spent outside the server processes being measured.
 *
 * Messages in:  { id, cmd: 'open', port, paths, mode, parallel } | { id, cmd: 'stats' } | { id, cmd: 'close' }
 *               | { id, cmd: 'measureFrom', at } (latency mode: ignore events appended before `at`)
 * Messages out: { id, ok, ...result }
 */
import { openMany, newStats } from './sse-client.mjs';
import { runChat, newChatStats } from './chat-client.mjs';
import { toWire } from './stats-wire.mjs';

let stats = newStats();
let socks = [];
/** Chat clients: `chat` adds clients to the current run (its stats accumulate until `chatReset`). */
let chat = { stats: newChatStats(), active: 0 };

process.on('message', async (m) => {
  try {
    if (m.cmd === 'open') {
      stats = newStats();
      const r = await openMany({ mode: m.mode, stats }, m.targets, m.parallel ?? 100);
      socks.push(...r.socks);
      process.send({
        id: m.id,
        ok: true,
        opened: r.socks.length,
        errors: r.errors.slice(0, 5),
        nErrors: r.errors.length,
      });
    } else if (m.cmd === 'chat') {
      // starts chat clients ({ specs: [{ port, path, dropAfterMs }], deadlineMs }); answers at once
      const run = chat;
      run.active++;
      void runChat(m.specs, run.stats, { deadlineMs: m.deadlineMs, parallel: m.parallel ?? 100 }).finally(
        () => run.active--,
      );
      process.send({ id: m.id, ok: true });
    } else if (m.cmd === 'chatReset') {
      chat = { stats: newChatStats(), active: 0 };
      process.send({ id: m.id, ok: true });
    } else if (m.cmd === 'chatStats') {
      process.send({ id: m.id, ok: true, ...toWire(chat.stats), running: chat.active > 0 });
    } else if (m.cmd === 'stats') {
      process.send({ id: m.id, ok: true, ...toWire(stats) });
    } else if (m.cmd === 'measureFrom') {
      // latencies of events appended from `at` on only (the connections opened so far included)
      stats.measureFrom = m.at;
      process.send({ id: m.id, ok: true });
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
