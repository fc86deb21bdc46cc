/**
 * The playground: ONE self-contained page (inline CSS and JS, nothing fetched from elsewhere, no build step).
 * It creates an `echo` job, streams it with EventSource through a browser stream token, drops the connection on
 * demand and resumes from the last cursor, and lists every event with its id. v1.1: the job can ask (echo's `ask`
 * or `client_tool`); the page then shows an approval card or a tool-result form and answers with
 * `POST /v1/jobs/:id/input`. The CSP allows exactly these two inline blocks (by hash) and same-origin requests.
 */
import { createHash } from 'node:crypto';

const CSS = `
:root { --bg:#f4f6fa; --card:#fff; --ink:#1c2330; --muted:#5d6778; --line:#dde2ea; --accent:#3657d6; --accent-ink:#fff;
  --ok:#16794c; --warn:#a15c00; --bad:#b3261e; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:#18213a; color:#fff; padding:18px 28px; }
header h1 { margin:0; font-size:20px; font-weight:650; letter-spacing:.2px; }
header p { margin:4px 0 0; color:#b9c3da; font-size:14px; }
header code { background:#2b3757; color:#e6ebf5; }
main { max-width:1180px; margin:0 auto; padding:22px 28px 40px; display:grid; gap:18px; grid-template-columns: minmax(0,1fr) minmax(0,1fr); }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px 18px; box-shadow:0 1px 2px rgba(20,30,60,.05); }
.card h2 { margin:0 0 12px; font-size:13px; text-transform:uppercase; letter-spacing:.8px; color:var(--muted); font-weight:650; }
.wide { grid-column: 1 / -1; }
label { display:block; font-size:13px; font-weight:600; margin:0 0 4px; }
.hint { font-weight:400; color:var(--muted); }
textarea, input { width:100%; font:inherit; color:inherit; border:1px solid var(--line); border-radius:7px; padding:8px 10px; background:#fbfcfe; }
textarea { min-height:104px; resize:vertical; }
textarea:focus, input:focus { outline:2px solid rgba(54,87,214,.35); border-color:var(--accent); }
.row { display:grid; grid-template-columns: minmax(0,2fr) minmax(0,1fr); gap:12px; margin-top:10px; }
.buttons { display:flex; gap:10px; margin-top:14px; flex-wrap:wrap; }
button { font:inherit; font-weight:600; border-radius:7px; padding:8px 16px; border:1px solid var(--line); background:#fff; color:var(--ink); cursor:pointer; }
button.primary { background:var(--accent); border-color:var(--accent); color:var(--accent-ink); }
button:disabled { opacity:.45; cursor:not-allowed; }
dl { display:grid; grid-template-columns: max-content minmax(0,1fr); gap:6px 14px; margin:0; font-size:14px; }
dt { color:var(--muted); }
dd { margin:0; font-family:var(--mono); font-size:13px; overflow-wrap:anywhere; }
.pill { display:inline-block; padding:1px 10px; border-radius:999px; font-family:inherit; font-size:13px; font-weight:650; background:#e8ebf2; color:var(--muted); }
.pill.live { background:#e3ebff; color:var(--accent); }
.pill.waiting { background:#fff1d6; color:var(--warn); }
.pill.done { background:#dcf3e6; color:var(--ok); }
.pill.dropped, .pill.cancelled { background:#fff1d6; color:var(--warn); }
.pill.error, .pill.failed { background:#fde2e0; color:var(--bad); }
.ok { color:var(--ok); } .bad { color:var(--bad); }
#output { margin:0; min-height:120px; max-height:320px; overflow:auto; white-space:pre-wrap; overflow-wrap:anywhere; font:15px/1.6 var(--mono); background:#0f1526; color:#e6ebf5; border-radius:8px; padding:14px 16px; }
#output.streaming::after { content:"\\258D"; color:#8aa4ff; animation: blink 1s steps(2, start) infinite; }
@keyframes blink { to { visibility:hidden; } }
#message-box { margin-top:10px; font-size:13px; min-height:1.5em; }
.table-wrap { max-height:360px; overflow:auto; border:1px solid var(--line); border-radius:8px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th { position:sticky; top:0; background:#f0f3f8; text-align:left; font-weight:650; color:var(--muted); padding:6px 10px; border-bottom:1px solid var(--line); }
td { padding:5px 10px; border-bottom:1px solid #eef1f5; vertical-align:top; }
td.mono { font-family:var(--mono); white-space:nowrap; }
td.detail { font-family:var(--mono); overflow-wrap:anywhere; }
tr.sep td { background:#fff7e6; color:var(--warn); font-weight:600; text-align:center; font-family:inherit; }
tr.terminal td { background:#f1faf5; }
.type { font-weight:650; }
.explain { margin:14px 0 0; color:var(--muted); font-size:13px; }
footer { grid-column: 1 / -1; color:var(--muted); font-size:13px; }
code { font-family:var(--mono); font-size:12.5px; background:#eef1f6; padding:1px 5px; border-radius:4px; }
label.spaced { margin-top:10px; }
.ask { border:2px solid var(--accent); background:#f5f7ff; }
.ask[hidden] { display:none; }
.ask .prompt { font-weight:600; margin:0 0 10px; }
.ask .call { margin:10px 0; }
.ask .call code { display:inline-block; margin-bottom:4px; }
.ask textarea { min-height:60px; font-family:var(--mono); font-size:13px; }
button.ok { background:var(--ok); border-color:var(--ok); color:#fff; }
button.bad { background:var(--bad); border-color:var(--bad); color:#fff; }
select { font:inherit; border:1px solid var(--line); border-radius:7px; padding:7px 8px; background:#fbfcfe; width:100%; }
@media (max-width: 860px) { main { grid-template-columns: minmax(0,1fr); } }
`;

const JS = `
'use strict';
const $ = (id) => document.querySelector('[data-testid="' + id + '"]');
const TYPES = ['status', 'token', 'thinking', 'tool_call_start', 'tool_call_end', 'attempt', 'input_required', 'input_received', 'done', 'error', 'cancelled'];
const TERMINAL = new Set(['done', 'error', 'cancelled']);
const RESUME_DELAY_MS = 1000;
let run = null;

function setStatus(s) {
  const el = $('status');
  el.textContent = s;
  el.className = 'pill ' + ({ connecting: 'live', streaming: 'live', resuming: 'live', creating: 'live' }[s] || s);
  $('output').classList.toggle('streaming', s === 'streaming');
}
function note(text, cls) {
  const el = $('note');
  el.textContent = text;
  el.className = cls || '';
}
function buttons() {
  const live = !!run && !run.ended;
  $('start').disabled = live;
  $('drop').disabled = !live || !run.es;
  $('cancel').disabled = !live;
}
function authHeaders(json) {
  const h = {};
  const key = $('api-key').value.trim();
  if (key) h.Authorization = 'Bearer ' + key;
  if (json) h['Content-Type'] = 'application/json';
  return h;
}
async function api(method, path, body) {
  const res = await fetch(path, { method, headers: authHeaders(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok) {
    throw new Error(data && data.error ? data.error.code + ': ' + data.error.message : 'HTTP ' + res.status);
  }
  return data;
}
function detailOf(ev) {
  switch (ev.type) {
    case 'token': case 'thinking': return JSON.stringify(ev.text);
    case 'status': return ev.status;
    case 'done': return 'usage ' + JSON.stringify(ev.usage);
    case 'error': return ev.code + ': ' + ev.message;
    case 'cancelled': return 'reason ' + JSON.stringify(ev.reason);
    case 'attempt': return 'attempt ' + ev.attempt + ' (' + ev.reason + ')';
    case 'tool_call_start': return ev.name + ' ' + JSON.stringify(ev.arguments);
    case 'tool_call_end': return ev.name + ' ' + JSON.stringify(ev.error !== undefined ? ev.error : ev.result);
    case 'input_required': return ev.kind + ': ' + JSON.stringify(ev.prompt);
    case 'input_received': return JSON.stringify(ev.input);
    default: return '';
  }
}
function addRow(cells, cls) {
  const tr = document.createElement('tr');
  if (cls) tr.className = cls;
  for (const [text, c] of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    if (c) td.className = c;
    if (cells.length === 1) td.colSpan = 4;
    tr.appendChild(td);
  }
  $('events').appendChild(tr);
  const wrap = $('events').closest('.table-wrap');
  wrap.scrollTop = wrap.scrollHeight;
  return tr;
}
function seqCheck(r) {
  const el = $('seq-check');
  el.textContent = r.anomalies.length ? r.anomalies.join('; ') : 'ok (' + r.lastSeq + ' events, dense)';
  el.className = r.anomalies.length ? 'bad' : 'ok';
}

function onEvent(r, type, msg) {
  if (r !== run || r.ended) return;
  const ev = JSON.parse(msg.data);
  const id = msg.lastEventId;
  if (ev.seq !== r.lastSeq + 1) r.anomalies.push((ev.seq <= r.lastSeq ? 'duplicate' : 'gap') + ' at seq ' + ev.seq + ' (expected ' + (r.lastSeq + 1) + ')');
  r.lastSeq = Math.max(r.lastSeq, ev.seq);
  r.lastId = id;
  $('cursor').textContent = id;
  const row = addRow([[id, 'mono'], [String(ev.seq), 'mono'], [type, 'type'], [detailOf(ev), 'detail']], TERMINAL.has(type) ? 'terminal' : '');
  row.dataset.id = id;
  row.dataset.seq = String(ev.seq);
  if (type === 'token') r.text += ev.text;
  if (type === 'input_required') showAsk(r, ev);
  if (type === 'status' && ev.status === 'waiting_for_input') setStatus('waiting');
  if (type === 'status' && ev.status === 'running' && r.es) setStatus('streaming');
  if (type === 'input_received' && r.ask && r.ask.request_id === ev.request_id) hideAsk(r);
  if (type === 'attempt') { r.text = ''; note('A new attempt started: the output of earlier attempts is void.'); }
  $('output').textContent = r.text;
  $('output').scrollTop = $('output').scrollHeight;
  seqCheck(r);
  if (TERMINAL.has(type)) {
    hideAsk(r);
    r.ended = true;
    if (r.es) { r.es.close(); r.es = null; }
    setStatus(type);
    if (type === 'done') {
      const same = ev.output && ev.output.text === r.text;
      note(same ? 'Done: the streamed tokens equal done.output.text.' : 'Done, but the streamed tokens differ from done.output.text!', same ? 'ok' : 'bad');
    } else if (type === 'error') note('The job failed: ' + ev.code + ': ' + ev.message, 'bad');
    else note('The job was cancelled.');
    buttons();
  }
}

// v1.1: the job asks — an approval card, or a form for the results of client-side tools
function showAsk(r, ev) {
  r.ask = ev;
  $('ask-prompt').textContent = ev.prompt;
  $('ask-kind').textContent = ev.kind;
  const calls = $('ask-calls');
  calls.textContent = '';
  const approval = ev.kind === 'approval';
  $('approve').hidden = !approval;
  $('reject').hidden = !approval;
  $('send-results').hidden = approval;
  for (const c of ev.tool_calls || []) {
    const div = document.createElement('div');
    div.className = 'call';
    const code = document.createElement('code');
    code.textContent = c.name + '(' + JSON.stringify(c.arguments) + ')  ' + c.call_id;
    const ta = document.createElement('textarea');
    ta.dataset.testid = 'tool-result';
    ta.dataset.callId = c.call_id;
    ta.spellcheck = false;
    ta.value = JSON.stringify({ ok: true });
    div.appendChild(code);
    div.appendChild(ta);
    calls.appendChild(div);
  }
  $('ask').hidden = false;
  note(approval ? 'The job waits for your approval (it holds no worker meanwhile).' : 'The job waits for the results of ' + (ev.tool_calls || []).length + ' client-side tool call(s).');
}
function hideAsk(r) {
  r.ask = null;
  $('ask').hidden = true;
}
async function answer(input) {
  const r = run;
  if (!r || !r.ask) return;
  try {
    await api('POST', '/v1/jobs/' + encodeURIComponent(r.jobId) + '/input', { request_id: r.ask.request_id, input });
    note('Answer accepted: the job goes on.', 'ok');
  } catch (e) {
    note('Answer refused: ' + e.message, 'bad');
  }
}
function sendResults() {
  const results = [];
  for (const ta of document.querySelectorAll('[data-testid="tool-result"]')) {
    let result;
    try { result = JSON.parse(ta.value); } catch (e) { result = ta.value; }
    results.push({ call_id: ta.dataset.callId, result });
  }
  return answer({ results });
}

async function connect(r, after) {
  if (r !== run || r.ended) return;
  setStatus(after === null ? 'connecting' : 'resuming');
  let t;
  try {
    t = await api('POST', '/v1/jobs/' + encodeURIComponent(r.jobId) + '/stream-tokens');
  } catch (e) {
    setStatus('failed');
    note('Could not get a stream token: ' + e.message, 'bad');
    r.ended = true;
    buttons();
    return;
  }
  if (r !== run || r.ended) return;
  const url = t.stream_url + (after ? '&after=' + encodeURIComponent(after) : '');
  const es = new EventSource(url);
  r.es = es;
  r.connections += 1;
  $('connections').textContent = String(r.connections);
  if (after !== null) $('resume-cursor').textContent = after || '(from the start)';
  es.onopen = () => {
    if (r !== run || r.ended || r.es !== es) return;
    setStatus('streaming');
    if (after !== null) note('Resumed after cursor ' + (after || '(the start)') + ': the server replays what was missed, then goes live.');
  };
  for (const type of TYPES) {
    es.addEventListener(type, (msg) => {
      // an SSE "event: error" frame carries data; a connection error is a plain Event
      if (type === 'error' && typeof msg.data !== 'string') return onConnectionError(r, es);
      onEvent(r, type, msg);
    });
  }
  buttons();
}

function onConnectionError(r, es) {
  if (r !== run || r.ended || r.es !== es) return;
  if (es.readyState === EventSource.CONNECTING) {
    // the browser reconnects by itself and sends Last-Event-ID: nothing is lost
    setStatus('resuming');
    note('Connection lost; the browser is reconnecting with Last-Event-ID ' + (r.lastId || '(none)') + '.');
    return;
  }
  // refused (e.g. the token expired): resume ourselves with a fresh token
  es.close();
  r.es = null;
  note('The stream was refused; resuming with a new token after ' + (r.lastId || 'the start') + '.');
  setTimeout(() => connect(r, r.lastId || ''), RESUME_DELAY_MS);
}

function drop() {
  const r = run;
  if (!r || r.ended || !r.es) return;
  r.es.close();
  r.es = null;
  const cursor = r.lastId;
  addRow([['connection dropped — resuming after ' + (cursor || '(the start)')]], 'sep');
  setStatus('dropped');
  note('Dropped the connection at cursor ' + (cursor || '(none)') + '. The job keeps running; resuming in ' + RESUME_DELAY_MS / 1000 + ' s…');
  buttons();
  setTimeout(() => connect(r, cursor || ''), RESUME_DELAY_MS);
}

async function start() {
  if (run && run.es) run.es.close();
  const message = $('message').value;
  if (!message) { note('Type a message first.', 'bad'); return; }
  const delay = Math.max(0, Math.min(5000, Number($('delay').value) || 0));
  run = { jobId: null, es: null, lastId: '', lastSeq: 0, text: '', ended: false, connections: 0, anomalies: [], ask: null };
  const r = run;
  hideAsk(r);
  $('output').textContent = '';
  $('events').textContent = '';
  for (const id of ['job-id', 'cursor', 'resume-cursor', 'seq-check']) $(id).textContent = '—';
  $('seq-check').className = '';
  $('connections').textContent = '0';
  note('');
  setStatus('creating');
  buttons();
  try {
    const input = { message, delay_ms: delay };
    const mode = $('interactive').value;
    if (mode === 'ask') input.ask = { after: 3, prompt: 'Go on with the rest of the message?' };
    if (mode === 'client_tool') input.client_tool = { name: 'read_clipboard' };
    const job = await api('POST', '/v1/jobs', { agent: 'echo', input });
    r.jobId = job.id;
    $('job-id').textContent = job.id;
  } catch (e) {
    setStatus('failed');
    note('Could not create the job: ' + e.message, 'bad');
    r.ended = true;
    buttons();
    return;
  }
  await connect(r, null);
}

async function cancel() {
  const r = run;
  if (!r || r.ended || !r.jobId) return;
  try { await api('POST', '/v1/jobs/' + encodeURIComponent(r.jobId) + '/cancel', { reason: 'cancelled in the playground' }); }
  catch (e) { note('Cancel failed: ' + e.message, 'bad'); }
}

async function probeAuth() {
  try {
    const res = await fetch('/v1/jobs?limit=1', { headers: authHeaders(false) });
    $('auth').textContent = res.status === 401 ? 'this server needs an API key' : $('api-key').value.trim() ? 'key accepted' : 'auth is off: no key needed';
    $('auth').className = res.status === 401 ? 'bad' : 'ok';
  } catch (e) { /* offline: leave it */ }
}

$('start').addEventListener('click', start);
$('drop').addEventListener('click', drop);
$('cancel').addEventListener('click', cancel);
$('approve').addEventListener('click', () => answer({ approved: true }));
$('reject').addEventListener('click', () => answer({ approved: false }));
$('send-results').addEventListener('click', sendResults);
$('api-key').addEventListener('change', probeAuth);
$('message').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) start(); });
buttons();
probeAuth();
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** Only the two inline blocks by hash; requests only to this origin; no frames, forms, plugins or base-uri tricks. */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  `script-src ${sha256(JS)}`,
  `style-src ${sha256(CSS)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>jobstream playground</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<header>
  <h1>jobstream playground</h1>
  <p>Start an <code>echo</code> job, watch its tokens stream over Server-Sent Events, drop the connection and resume from the last cursor — no gap, no duplicate.</p>
</header>
<main>
  <section class="card">
    <h2>Job</h2>
    <label for="api-key">API key <span class="hint">— only if the server sets API_KEYS; kept in this page only</span></label>
    <input id="api-key" data-testid="api-key" type="password" autocomplete="off" spellcheck="false" placeholder="paste a key, or leave empty when auth is off">
    <div id="auth" data-testid="auth" class="hint"></div>
    <div class="row">
      <div>
        <label for="message">Message</label>
        <textarea id="message" data-testid="message" spellcheck="false">Every token arrives exactly once and in order, even when the connection drops halfway and the client resumes from its last cursor.</textarea>
      </div>
      <div>
        <label for="delay">Delay per token <span class="hint">(ms)</span></label>
        <input id="delay" data-testid="delay" type="number" min="0" max="5000" step="10" value="150">
        <label for="interactive" class="spaced">The job asks <span class="hint">(v1.1)</span></label>
        <select id="interactive" data-testid="interactive">
          <option value="">nothing</option>
          <option value="ask">an approval after 3 tokens</option>
          <option value="client_tool">for a client-side tool first</option>
        </select>
      </div>
    </div>
    <div class="buttons">
      <button id="start" data-testid="start" class="primary" type="button">Start</button>
      <button id="drop" data-testid="drop" type="button" title="close the EventSource, then resume after the last event id">Drop &amp; resume</button>
      <button id="cancel" data-testid="cancel" type="button">Cancel job</button>
    </div>
    <div id="message-box"><span data-testid="note"></span></div>
  </section>
  <section class="card">
    <h2>Stream</h2>
    <dl>
      <dt>status</dt><dd><span data-testid="status" class="pill">idle</span></dd>
      <dt>job</dt><dd data-testid="job-id">—</dd>
      <dt>last cursor</dt><dd data-testid="cursor">—</dd>
      <dt>connections</dt><dd data-testid="connections">0</dd>
      <dt>resumed after</dt><dd data-testid="resume-cursor">—</dd>
      <dt>seq check</dt><dd><span data-testid="seq-check">—</span></dd>
    </dl>
    <p class="explain"><b>Drop &amp; resume</b> closes the EventSource, waits a second while the job keeps running, then opens a new stream with <code>after=</code> the last cursor received. The seq check flags any gap or duplicate.</p>
  </section>
  <section class="card wide ask" data-testid="ask" hidden>
    <h2>The job asks <span data-testid="ask-kind"></span></h2>
    <p class="prompt" data-testid="ask-prompt"></p>
    <div data-testid="ask-calls"></div>
    <div class="buttons">
      <button data-testid="approve" class="ok" type="button">Approve</button>
      <button data-testid="reject" class="bad" type="button">Reject</button>
      <button data-testid="send-results" class="primary" type="button">Send results</button>
    </div>
  </section>
  <section class="card wide">
    <h2>Output</h2>
    <pre id="output" data-testid="output"></pre>
  </section>
  <section class="card wide">
    <h2>Events</h2>
    <div class="table-wrap">
      <table>
        <thead><tr><th>id (cursor)</th><th>seq</th><th>type</th><th>detail</th></tr></thead>
        <tbody data-testid="events"></tbody>
      </table>
    </div>
  </section>
  <footer>The stream is opened with <code>EventSource</code> and a short-lived stream token from <code>POST /v1/jobs/:id/stream-tokens</code>; a resume adds <code>&amp;after=&lt;last id&gt;</code>. API reference: <a href="/docs">/docs</a>.</footer>
</main>
<script>${JS}</script>
</body>
</html>
`;
