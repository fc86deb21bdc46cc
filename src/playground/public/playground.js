/*
 * The playground's script (plain browser JavaScript, no build step), served at /playground/playground.js.
 * It creates an `echo` job, streams it with EventSource through a browser stream token, drops the connection on
 * demand and resumes from the last cursor, and lists every event with its id. v1.1: the job can ask (echo's `ask`
 * or `client_tool`); the page then shows an approval card or a tool-result form and answers with
 * `POST /v1/jobs/:id/input`.
 */
'use strict';
const $ = (id) => document.querySelector('[data-testid="' + id + '"]');
// the event types come from the API's contracts: the server puts them into the page as a JSON data block
const CONTRACTS = JSON.parse(document.getElementById('jobstream-contracts').textContent);
const TYPES = CONTRACTS.event_types;
const TERMINAL = new Set(CONTRACTS.terminal_event_types);
const RESUME_DELAY_MS = 1000;
let run = null;

/** The pill's text and its colour class (the text's own class unless `cls` says otherwise). */
function setStatus(s, cls) {
  const el = $('status');
  el.textContent = s;
  el.className =
    'pill ' + (cls || { connecting: 'live', streaming: 'live', resuming: 'live', creating: 'live' }[s] || s);
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
  const res = await fetch(path, {
    method,
    headers: authHeaders(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const err = new Error(data && data.error ? data.error.code + ': ' + data.error.message : 'HTTP ' + res.status);
    err.status = res.status;
    throw err;
  }
  return data;
}
function detailOf(ev) {
  switch (ev.type) {
    case 'token':
    case 'thinking':
      return JSON.stringify(ev.text);
    case 'status':
      return ev.status;
    case 'done':
      return 'usage ' + JSON.stringify(ev.usage);
    case 'error':
      return ev.code + ': ' + ev.message;
    case 'cancelled':
      return 'reason ' + JSON.stringify(ev.reason);
    case 'attempt':
      return 'attempt ' + ev.attempt + ' (' + ev.reason + ')';
    case 'tool_call_start':
      return ev.name + ' ' + JSON.stringify(ev.arguments);
    case 'tool_call_end':
      return ev.name + ' ' + JSON.stringify(ev.error !== undefined ? ev.error : ev.result);
    case 'input_required':
      return ev.kind + ': ' + JSON.stringify(ev.prompt);
    case 'input_received':
      return JSON.stringify(ev.input);
    default:
      return '';
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
  if (ev.seq !== r.lastSeq + 1)
    r.anomalies.push(
      (ev.seq <= r.lastSeq ? 'duplicate' : 'gap') + ' at seq ' + ev.seq + ' (expected ' + (r.lastSeq + 1) + ')',
    );
  r.lastSeq = Math.max(r.lastSeq, ev.seq);
  r.lastId = id;
  $('cursor').textContent = id;
  const row = addRow(
    [
      [id, 'mono'],
      [String(ev.seq), 'mono'],
      [type, 'type'],
      [detailOf(ev), 'detail'],
    ],
    TERMINAL.has(type) ? 'terminal' : '',
  );
  row.dataset.id = id;
  row.dataset.seq = String(ev.seq);
  if (type === 'token') r.text += ev.text;
  if (type === 'input_required') showAsk(r, ev);
  if (type === 'status' && ev.status === 'waiting_for_input') setStatus('waiting');
  if (type === 'status' && ev.status === 'running' && r.es) setStatus('streaming');
  if (type === 'input_received' && r.ask && r.ask.request_id === ev.request_id) hideAsk(r);
  if (type === 'attempt') {
    r.text = '';
    note('A new attempt started: the output of earlier attempts is void.');
  }
  $('output').textContent = r.text;
  $('output').scrollTop = $('output').scrollHeight;
  seqCheck(r);
  if (TERMINAL.has(type)) {
    hideAsk(r);
    r.ended = true;
    if (r.es) {
      r.es.close();
      r.es = null;
    }
    setStatus(type);
    if (type === 'done') {
      const same = ev.output && ev.output.text === r.text;
      note(
        same
          ? 'Done: the streamed tokens equal done.output.text.'
          : 'Done, but the streamed tokens differ from done.output.text!',
        same ? 'ok' : 'bad',
      );
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
  note(
    approval
      ? 'The job waits for your approval (it holds no worker meanwhile).'
      : 'The job waits for the results of ' + (ev.tool_calls || []).length + ' client-side tool call(s).',
  );
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
    try {
      result = JSON.parse(ta.value);
    } catch {
      result = ta.value;
    }
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
    // the job itself goes on: only this page could not connect
    setStatus('not connected', 'failed');
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
    if (after !== null)
      note(
        'Resumed after cursor ' + (after || '(the start)') + ': the server replays what was missed, then goes live.',
      );
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
  note(
    'Dropped the connection at cursor ' +
      (cursor || '(none)') +
      '. The job keeps running; resuming in ' +
      RESUME_DELAY_MS / 1000 +
      ' s…',
  );
  buttons();
  setTimeout(() => connect(r, cursor || ''), RESUME_DELAY_MS);
}

async function start() {
  if (run && run.es) run.es.close();
  const message = $('message').value;
  if (!message) {
    note('Type a message first.', 'bad');
    return;
  }
  const delay = Math.max(0, Math.min(5000, Number($('delay').value) || 0));
  run = {
    jobId: null,
    es: null,
    lastId: '',
    lastSeq: 0,
    text: '',
    ended: false,
    connections: 0,
    anomalies: [],
    ask: null,
  };
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
    // no job exists: "failed" would read as a job that failed
    setStatus(e.status === 401 ? 'key refused' : 'not created', 'failed');
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
  try {
    await api('POST', '/v1/jobs/' + encodeURIComponent(r.jobId) + '/cancel', { reason: 'cancelled in the playground' });
  } catch (e) {
    note('Cancel failed: ' + e.message, 'bad');
  }
}

async function probeAuth() {
  try {
    const res = await fetch('/v1/jobs?limit=1', { headers: authHeaders(false) });
    $('auth').textContent =
      res.status === 401
        ? 'this server needs an API key'
        : $('api-key').value.trim()
          ? 'key accepted'
          : 'auth is off: no key needed';
    $('auth').className = res.status === 401 ? 'bad' : 'ok';
  } catch {
    /* offline: leave it */
  }
}

$('start').addEventListener('click', start);
$('drop').addEventListener('click', drop);
$('cancel').addEventListener('click', cancel);
$('approve').addEventListener('click', () => answer({ approved: true }));
$('reject').addEventListener('click', () => answer({ approved: false }));
$('send-results').addEventListener('click', sendResults);
$('api-key').addEventListener('change', probeAuth);
$('message').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) start();
});
$('event-types').textContent = TYPES.join(' · ');
buttons();
probeAuth();
