/**
 * The table the HTTP fuzz suite drives: every public endpoint with its query parameters, body fields and headers.
 * A new endpoint is one more row (its body's valid base and the fields to break); the generators do the rest.
 */
import fc from 'fast-check';
import type { RawRequest } from './http-client.js';
import {
  BUILTIN_NAMES,
  RawJson,
  builtinName,
  encodeUtf8Loose,
  hostileCursor,
  hostileHeaderValue,
  hostileIdSegment,
  hostileString,
  hostileValue,
  toJsonText,
  type Hostile,
} from './hostile.js';

/** What the generators need to know of the running app. */
export interface FuzzContext {
  /** A valid API key of the tenant that owns {@link ownJobId}. */
  key: string;
  /** A valid API key of another tenant. */
  otherKey: string;
  /** A finished job of the key's tenant (so /wait answers at once). */
  ownJobId: string;
  /** A finished job of the other tenant. */
  otherJobId: string;
  /** A valid stream token for ownJobId: it must never reach the log, whatever shape it is sent in. */
  streamToken: string;
  /** A valid event cursor of ownJobId. */
  ownCursor: string;
}

export interface EndpointSpec {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path template; `:id` is replaced by a generated id. */
  path: string;
  query?: string[];
  /** A valid body (as a value tree) whose fields the fuzzer replaces, drops, or adds to. */
  body?: (ctx: FuzzContext) => Record<string, Hostile>;
  /** Nested objects whose fields are fuzzed too (`input` of a create). */
  nested?: Record<string, Record<string, Hostile>>;
  headers?: string[];
  /** Relative share of the generated requests (default 1). */
  weight?: number;
  /** Destructive on the fixture (a delete): never aim it at the own job. */
  notOwn?: boolean;
}

const echoInput: Record<string, Hostile> = {
  message: 'hello fuzz',
  repeat: 1,
  delay_ms: 0,
  fail_after: 3,
  tool: false,
};
const openaiInput: Record<string, Hostile> = {
  prompt: 'hi',
  messages: [{ role: 'user', content: 'hi' }],
  model: 'm',
  temperature: 1,
  top_p: 1,
  max_tokens: 5,
  stop: ['x'],
  tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
  tool_choice: 'auto',
};

export const ENDPOINTS: EndpointSpec[] = [
  {
    name: 'create',
    method: 'POST',
    path: '/v1/jobs',
    body: () => ({ agent: 'echo', input: { message: 'hello fuzz' }, metadata: { a: 1 } }),
    nested: { input: { ...echoInput, ...openaiInput }, metadata: { note: 'x' } },
    headers: ['idempotency-key'],
    weight: 5,
  },
  { name: 'list', method: 'GET', path: '/v1/jobs', query: ['status', 'limit', 'cursor'] },
  { name: 'get', method: 'GET', path: '/v1/jobs/:id' },
  { name: 'cancel', method: 'POST', path: '/v1/jobs/:id/cancel', body: () => ({ reason: 'fuzz' }) },
  { name: 'events', method: 'GET', path: '/v1/jobs/:id/events', query: ['after', 'limit', 'types'], weight: 2 },
  { name: 'wait', method: 'GET', path: '/v1/jobs/:id/wait', query: ['timeout_s'] },
  {
    name: 'stream',
    method: 'GET',
    path: '/v1/jobs/:id/stream',
    query: ['after', 'access_token', 'snapshot', 'types', 'format'],
    headers: ['last-event-id'],
    weight: 3,
  },
  { name: 'snapshot', method: 'GET', path: '/v1/jobs/:id/snapshot', query: ['at'] },
  {
    name: 'input',
    method: 'POST',
    path: '/v1/jobs/:id/input',
    body: () => ({ request_id: 'req_01', input: { approved: true } }),
    nested: { input: { approved: true, results: [{ call_id: 'c1', result: { ok: 1 } }], text: 'x' } },
  },
  { name: 'stream-token', method: 'POST', path: '/v1/jobs/:id/stream-tokens', body: () => ({}) },
  // webhooks (v1.1): the base URL is on loopback, so a create that gets through is refused (no outbound traffic)
  {
    name: 'webhook-create',
    method: 'POST',
    path: '/v1/webhooks',
    body: () => ({ url: 'https://127.0.0.1/hook', events: ['job.completed', 'job.failed'] }),
  },
  { name: 'webhook-list', method: 'GET', path: '/v1/webhooks' },
  { name: 'webhook-delete', method: 'DELETE', path: '/v1/webhooks/:id' },
  { name: 'webhook-deliveries', method: 'GET', path: '/v1/webhooks/:id/deliveries', query: ['limit', 'cursor'] },
  { name: 'webhook-redeliver', method: 'POST', path: '/v1/webhooks/:id/deliveries/:id/redeliver', body: () => ({}) },
  // threads and job management (v1.1)
  { name: 'agents-list', method: 'GET', path: '/v1/agents' },
  { name: 'thread-create', method: 'POST', path: '/v1/threads', body: () => ({ agent: 'echo', metadata: { a: 1 } }) },
  { name: 'thread-list', method: 'GET', path: '/v1/threads', query: ['limit', 'cursor'] },
  { name: 'thread-get', method: 'GET', path: '/v1/threads/:id' },
  { name: 'thread-turns', method: 'GET', path: '/v1/threads/:id/jobs', query: ['limit', 'cursor'] },
  {
    name: 'thread-turn-create',
    method: 'POST',
    path: '/v1/threads/:id/jobs',
    body: () => ({ input: { message: 'hi' }, if_busy: 'reject' }),
    nested: { input: { message: 'hi', repeat: 1 } },
    headers: ['idempotency-key'],
  },
  { name: 'thread-delete', method: 'DELETE', path: '/v1/threads/:id' },
  { name: 'job-rerun', method: 'POST', path: '/v1/jobs/:id/rerun', body: () => ({}) },
  {
    name: 'job-batch',
    method: 'POST',
    path: '/v1/jobs/batch',
    body: () => ({
      jobs: [
        { agent: 'echo', input: { message: 'b' } },
        { agent: 'toString', input: {} },
      ],
    }),
  },
  { name: 'job-delete', method: 'DELETE', path: '/v1/jobs/:id', notOwn: true },
  { name: 'share-create', method: 'POST', path: '/v1/jobs/:id/shares', body: () => ({ expires_in_s: 60 }) },
  { name: 'share-list', method: 'GET', path: '/v1/jobs/:id/shares' },
  { name: 'share-delete', method: 'DELETE', path: '/v1/jobs/:id/shares/:id', notOwn: true },
  // AG-UI: a RunAgentInput for HttpAgent (a valid one runs a short echo turn and streams it)
  {
    name: 'ag-ui-run',
    method: 'POST',
    path: '/v1/ag-ui/echo',
    body: () => ({
      threadId: 'fuzz-thread',
      runId: 'fuzz-run',
      messages: [{ id: 'm1', role: 'user', content: 'hi' }],
      tools: [{ name: 'read_file', description: 'reads', parameters: { type: 'object' } }],
      context: [],
      forwardedProps: { if_busy: 'enqueue' },
      resume: [{ interruptId: 'req_01', status: 'resolved', payload: { approved: true } }],
    }),
    nested: {
      forwardedProps: { input: { repeat: 1 }, if_busy: 'reject' },
    },
    weight: 2,
  },
  {
    name: 'ag-ui-agent',
    method: 'POST',
    path: '/v1/ag-ui/:id',
    body: () => ({ threadId: 't', runId: 'r', messages: [] }),
  },
  { name: 'health-live', method: 'GET', path: '/health/live' },
  { name: 'health-ready', method: 'GET', path: '/health/ready' },
  { name: 'metrics', method: 'GET', path: '/metrics' },
  { name: 'unknown', method: 'GET', path: '/v1/:id' },
  // Durable Streams (/ds): reads, appends (bytes of any type, producer headers), and jobs as read-only streams
  {
    name: 'ds-read',
    method: 'GET',
    path: '/ds/v1/stream/:id',
    query: ['offset', 'live', 'cursor'],
    headers: ['if-none-match'],
  },
  {
    name: 'ds-append',
    method: 'POST',
    path: '/ds/v1/stream/:id',
    body: () => ({ n: 1 }),
    headers: ['producer-id', 'producer-epoch', 'producer-seq', 'stream-closed', 'stream-seq', 'stream-ttl'],
  },
  { name: 'ds-job', method: 'GET', path: '/ds/v1/stream/jobs/:id', query: ['offset', 'live'] },
];

/** Names of query parameters that carry secrets in some endpoint: sent everywhere, in every shape. */
const SECRET_PARAMS = ['access_token', 'share_token', 'token', 'api_key', 'apikey', 'key'];

const contentTypes = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/json; charset=nonsense',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json;;;',
    'application/merge-patch+json',
    'application/vnd.api+json',
    '*/*',
    '',
    'application',
    '__proto__/constructor',
  ),
);

/** A query parameter: `[name, value]`, or `[name]` alone (no `=`). */
type Param = [name: string, value?: string];

const enc = encodeUtf8Loose;

/** One query parameter in one of the shapes a query parser may accept. */
function paramShapes(name: string, value: fc.Arbitrary<string>): fc.Arbitrary<Param[]> {
  return fc.oneof(
    value.map((v) => [[enc(name), enc(v)]] as Param[]),
    fc.tuple(value, value).map(
      ([a, b]) =>
        [
          [enc(name), enc(a)],
          [enc(name), enc(b)],
        ] as Param[],
    ),
    value.map((v) => [[`${enc(name)}[]`, enc(v)]] as Param[]),
    fc
      .tuple(fc.constantFrom('x', '0', '__proto__', 'constructor', ''), value)
      .map(([k, v]) => [[`${enc(name)}[${k}]`, enc(v)]] as Param[]),
    value.map((v) => [[`${enc(name)}%5B%5D`, enc(v)]] as Param[]),
    // the name itself percent-encoded (every character), or its case changed
    value.map(
      (v) => [[[...name].map((c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()).join(''), enc(v)]] as Param[],
    ),
    value.map((v) => [[enc(name.toUpperCase()), enc(v)]] as Param[]),
    fc.constant([[enc(name), '']] as Param[]),
    fc.constant([[enc(name)]] as Param[]),
  );
}

function queryValue(param: string, ctx: FuzzContext): fc.Arbitrary<string> {
  switch (param) {
    case 'types':
      return fc.oneof(
        hostileString,
        fc.constantFrom(
          'token,done',
          'token',
          'done,error,cancelled',
          'snapshot',
          ',',
          'token,,',
          'TOKEN',
          '__proto__,constructor',
        ),
      );
    case 'offset':
      return fc.oneof(
        hostileString,
        hostileCursor,
        fc.constantFrom('-1', 'now', '0000000000000000_0000000000000000', '9999999999999999_9999999999999999'),
      );
    case 'live':
      return fc.oneof(hostileString, fc.constantFrom('long-poll', 'sse', 'LONG-POLL', 'true'));
    case 'format':
      return fc.oneof(hostileString, fc.constantFrom('ai-sdk', 'sse', 'AI-SDK', 'ai-sdk ', 'ag-ui', 'AG-UI'));
    case 'snapshot':
      return fc.oneof(hostileString, fc.constantFrom('true', 'false', '1', '0', 'yes', 'TRUE'));
    case 'after':
    case 'at':
    case 'cursor':
      return fc.oneof(hostileCursor, fc.constant(ctx.ownCursor));
    case 'access_token':
      return fc.oneof(
        fc.constant(ctx.streamToken),
        hostileString,
        fc.constant(ctx.streamToken + 'x'),
        fc.constant(ctx.streamToken.slice(0, -1)),
      );
    default:
      return fc.oneof(
        hostileString,
        fc.constantFrom('1', '5', '0', '100', '1000', '1001', '300', '301', 'queued', 'completed'),
      );
  }
}

/** The query string of a request: the endpoint's own params (hostile), secrets in odd shapes, built-in names. */
function queryArb(spec: EndpointSpec, ctx: FuzzContext): fc.Arbitrary<string> {
  const own = (spec.query ?? []).map((p) => fc.option(paramShapes(p, queryValue(p, ctx)), { nil: undefined }));
  const secret = fc.option(
    fc.constantFrom(...SECRET_PARAMS).chain((p) => paramShapes(p, fc.constant(ctx.streamToken))),
    { nil: undefined, freq: 3 },
  );
  const builtin = fc.option(
    fc.tuple(builtinName, hostileString).chain(([n, v]) => paramShapes(n, fc.constant(v))),
    { nil: undefined, freq: 3 },
  );
  return fc
    .tuple(fc.tuple(...own), secret, builtin, fc.constantFrom('', '', '&', '&&', '#frag', '?'))
    .map(([ownParams, s, b, tail]) => {
      const params: Param[] = [...ownParams.filter((x) => x !== undefined).flat(), ...(s ?? []), ...(b ?? [])];
      if (params.length === 0 && tail === '') return '';
      return '?' + params.map((p) => (p[1] === undefined ? p[0] : `${p[0]}=${p[1]}`)).join('&') + tail;
    });
}

function idArb(ctx: FuzzContext, notOwn = false): fc.Arbitrary<string> {
  if (notOwn) return fc.oneof(fc.constant(ctx.otherJobId), hostileIdSegment);
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant(ctx.ownJobId) },
    { weight: 1, arbitrary: fc.constant(ctx.otherJobId) },
    { weight: 3, arbitrary: hostileIdSegment },
  );
}

/** A body value tree: the valid base with some fields replaced by hostile values, dropped, or added. */
function bodyTreeArb(spec: EndpointSpec, ctx: FuzzContext): fc.Arbitrary<Hostile> {
  const base = spec.body!(ctx);
  const fields = Object.keys(base);
  /** Mostly valid, with a few hostile changes: so that most requests get past the first check and reach the next. */
  const mutate = (valid: Record<string, Hostile>, keys: readonly string[]): fc.Arbitrary<Record<string, Hostile>> =>
    fc
      .tuple(
        keys.length ? fc.array(fc.constantFrom(...keys), { maxLength: 1 }) : fc.constant([] as string[]),
        fc.array(fc.tuple(fc.constantFrom(...keys, ...BUILTIN_NAMES, 'extra'), hostileValue), { maxLength: 2 }),
      )
      .map(([dropped, replaced]) => {
        const o: Record<string, Hostile> = Object.create(null) as Record<string, Hostile>;
        for (const k of keys) if (!dropped.includes(k) && k in valid) o[k] = valid[k]!;
        for (const [k, v] of replaced) o[k] = v;
        return o;
      });
  const nestedArb = spec.nested
    ? fc.constantFrom(...Object.keys(spec.nested)).chain((name) => {
        const inner = spec.nested![name]!;
        // start from a valid subset (echo's fields or openai's), then break it
        return fc.subarray(Object.keys(inner)).chain((keys) => {
          const valid = Object.fromEntries(keys.map((k) => [k, inner[k]!])) as Record<string, Hostile>;
          return fc
            .oneof(fc.constant(valid), mutate(valid, keys.length ? keys : Object.keys(inner)))
            .map((v) => [name, v] as const);
        });
      })
    : fc.constant(undefined);
  const agentArb = fc.oneof(
    { weight: 4, arbitrary: fc.constant('echo') },
    { weight: 1, arbitrary: fc.constant('openai') },
    { weight: 3, arbitrary: builtinName },
    { weight: 1, arbitrary: fc.constantFrom('', 'ECHO', 'echo\u0000', ' echo', 'e'.repeat(65)) },
  );
  return fc
    .tuple(mutate(base, fields), fc.option(nestedArb, { nil: undefined, freq: 2 }), agentArb)
    .map(([o, nested, agent]) => {
      if ('agent' in o && o.agent === base.agent) o.agent = agent;
      if (nested) o[nested[0]] = nested[1];
      return o;
    });
}

/** Writes a body tree whose keys may include "__proto__" as JSON text (an own key in the text, as an attacker sends it). */
function bodyText(tree: Hostile): string {
  return toJsonText(tree);
}

function bodyArb(
  spec: EndpointSpec,
  ctx: FuzzContext,
): fc.Arbitrary<{ text: string | undefined; contentType: string | undefined }> {
  const asJson = (text: string | undefined) => contentTypes.map((ct) => ({ text, contentType: ct }));
  const alternatives: fc.Arbitrary<{ text: string | undefined; contentType: string | undefined }>[] = [
    fc.constant({ text: undefined, contentType: undefined }),
    hostileValue.chain((v) => asJson(toJsonText(v))), // not an object at all (or a hostile one)
    fc
      .constantFrom(
        '{',
        '{"a":',
        'nul',
        '{"a":1,}',
        "{'a':1}",
        '\uFEFF{}',
        '{"a":1}{"b":2}',
        '[',
        '"\\uD800"',
        '{"agent":"echo","input":{"message":"\\u0000"}}',
      )
      .chain(asJson),
    fc.constant({ text: '{"pad":"' + 'x'.repeat(1024 * 1024 + 10) + '"}', contentType: 'application/json' }),
  ];
  if (spec.body) alternatives.push(bodyTreeArb(spec, ctx).chain((t) => asJson(bodyText(t))));
  return fc.oneof(
    ...alternatives.map((a, i) => ({ weight: i === alternatives.length - 1 && spec.body ? 8 : 1, arbitrary: a })),
  );
}

function headersArb(spec: EndpointSpec, ctx: FuzzContext): fc.Arbitrary<Record<string, string | string[]>> {
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${ctx.key}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${ctx.otherKey}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: hostileHeaderValue.map((v) => `Bearer ${v}`) },
    { weight: 1, arbitrary: fc.constant([`Bearer ${ctx.key}`, `Bearer ${ctx.otherKey}`] as string[]) },
    { weight: 1, arbitrary: hostileHeaderValue },
  );
  const own = (spec.headers ?? []).map((h) =>
    fc.option(
      h === 'last-event-id'
        ? fc.oneof(hostileCursor.filter(latin1Header), fc.constant(ctx.ownCursor))
        : hostileHeaderValue,
      { nil: undefined },
    ),
  );
  const extra = fc.option(
    fc.tuple(
      fc.constantFrom(...BUILTIN_NAMES, 'x-request-id', 'content-encoding', 'accept', 'x-forwarded-for', 'referer'),
      hostileHeaderValue,
    ),
    { nil: undefined },
  );
  return fc.tuple(auth, fc.tuple(...own), extra).map(([a, ownValues, x]) => {
    const h = Object.create(null) as Record<string, string | string[]>;
    if (a !== undefined) h['authorization'] = a;
    (spec.headers ?? []).forEach((name, i) => {
      const v = ownValues[i];
      if (v !== undefined) h[name] = v;
    });
    if (x) h[x[0]] = x[1];
    return h;
  });
}

function latin1Header(v: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(v);
}

export interface GeneratedRequest extends RawRequest {
  endpoint: string;
}

/** A hostile request to one endpoint. */
export function requestArb(spec: EndpointSpec, ctx: FuzzContext): fc.Arbitrary<GeneratedRequest> {
  return fc
    .tuple(
      spec.path.includes(':id') ? idArb(ctx, spec.notOwn) : fc.constant(''),
      queryArb(spec, ctx),
      headersArb(spec, ctx),
      spec.method === 'GET' ? fc.constant({ text: undefined, contentType: undefined }) : bodyArb(spec, ctx),
      fc.oneof(
        { weight: 12, arbitrary: fc.constant(spec.method) },
        { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'GET', 'POST') },
      ),
    )
    .map(([id, query, headers, body, method]) => {
      const h = headers;
      if (body.contentType !== undefined && body.contentType !== '') h['content-type'] = body.contentType;
      return {
        endpoint: spec.name,
        method,
        path: spec.path.replaceAll(':id', id) + query,
        headers: h,
        body: body.text,
      };
    });
}

/** A hostile request to any endpoint of the table. */
export function anyRequestArb(ctx: FuzzContext, endpoints: EndpointSpec[] = ENDPOINTS): fc.Arbitrary<GeneratedRequest> {
  return fc.oneof(...endpoints.map((e) => ({ weight: e.weight ?? 1, arbitrary: requestArb(e, ctx) })));
}

export { RawJson };
