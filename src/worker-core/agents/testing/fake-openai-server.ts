/**
 * A local stand-in for an OpenAI-compatible chat-completions endpoint, for tests. It speaks the real streaming wire
 * format: `POST /v1/chat/completions` answers `text/event-stream` with `data: <chunk JSON>\n\n` lines and a final
 * `data: [DONE]\n\n`, the chunks shaped like OpenAI's (`id`, `object: 'chat.completion.chunk'`, `created`, `model`,
 * `system_fingerprint`, `choices[{ index, delta, logprobs, finish_reason }]`, `usage: null` on every chunk and a final
 * usage chunk with empty `choices` when `stream_options.include_usage` is set). Errors are OpenAI's error JSON.
 *
 * Each request takes the next queued {@link FakeScript} (a request with none queued gets a 500). Every request is
 * recorded — method, path, headers, parsed body — with a promise telling whether the client closed the connection
 * before the script finished (what an aborted fetch does).
 *
 * Listens on 127.0.0.1, port 0. Not for production: excluded from the build (`testing/`).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** OpenAI's error object, as in `{ "error": { … } }`. */
export interface FakeErrorObject {
  message: string;
  type: string;
  code: string | null;
  param?: string | null;
}

/** One step of a streamed response. */
export type FakeStep =
  /** A chunk whose delta carries `content`. */
  | { kind: 'content'; text: string }
  /** A chunk whose delta carries reasoning, under `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter, Ollama). */
  | { kind: 'reasoning'; text: string; field?: 'reasoning_content' | 'reasoning' }
  /** A chunk with one fragment of a tool call (first fragment: id, type, name; later ones: argument pieces). */
  | { kind: 'tool_call'; index: number; id?: string; name?: string; arguments?: string }
  /** A chunk with an empty delta and this `finish_reason`. */
  | { kind: 'finish'; reason: 'stop' | 'length' | 'tool_calls' | 'content_filter' }
  /** The usage chunk: empty `choices`, `usage` set. */
  | { kind: 'usage'; prompt_tokens: number; completion_tokens: number; reasoning_tokens?: number }
  /** `data: {"error": {…}}` — what providers send when a failure happens after the 200 went out. */
  | { kind: 'error'; error: FakeErrorObject }
  /** Any `data:` payload as it is (e.g. malformed JSON), or a raw string written to the socket. */
  | { kind: 'raw'; data?: string; bytes?: string }
  /** `data: [DONE]`. */
  | { kind: 'done' }
  /** Wait before the next step (stops early if the client goes away). */
  | { kind: 'delay'; ms: number }
  /** Wait until the client closes the connection. */
  | { kind: 'hang' }
  /** Destroy the socket at once (a connection reset mid-stream). */
  | { kind: 'destroy' };

export type FakeScript =
  | {
      /** A streamed 200. The response ends after the last step (without `[DONE]` unless a step sends it). */
      stream: FakeStep[];
      /** Delay before the status line and headers are sent. */
      headersDelayMs?: number;
      /** Wait for the client to go away instead of sending headers at all. */
      hangBeforeHeaders?: boolean;
    }
  | {
      /** A non-streamed response: this status and a JSON body (OpenAI's error JSON for errors). */
      status: number;
      json: unknown;
      headers?: Record<string, string>;
    };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The JSON body, parsed. */
  body: Record<string, unknown>;
  /**
   * Settles when the response is over: `true` if the connection closed before the script finished (a client abort,
   * or a `destroy` step), `false` if the server completed the response.
   */
  closedEarly: Promise<boolean>;
}

export interface FakeOpenAiServer {
  /** e.g. `http://127.0.0.1:54321/v1` — what goes in `OPENAI_BASE_URL`. */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Queues scripts, answered in order by the next requests. */
  enqueue(...scripts: FakeScript[]): void;
  close(): Promise<void>;
}

// ---- script builders -----------------------------------------------------------------------------------------

/** The steps of an ordinary completion: content tokens, `finish_reason: 'stop'`, usage, `[DONE]`. */
export function completionSteps(
  tokens: string[],
  opts: {
    delayMs?: number;
    promptTokens?: number;
    reasoning?: string[];
    finish?: 'stop' | 'length' | 'content_filter';
  } = {},
): FakeStep[] {
  const steps: FakeStep[] = [];
  const pause = (): void => {
    if (opts.delayMs) steps.push({ kind: 'delay', ms: opts.delayMs });
  };
  for (const text of opts.reasoning ?? []) {
    steps.push({ kind: 'reasoning', text });
    pause();
  }
  for (const text of tokens) {
    steps.push({ kind: 'content', text });
    pause();
  }
  const completion = tokens.length + (opts.reasoning?.length ?? 0);
  steps.push(
    { kind: 'finish', reason: opts.finish ?? 'stop' },
    {
      kind: 'usage',
      prompt_tokens: opts.promptTokens ?? 10,
      completion_tokens: completion,
      ...(opts.reasoning ? { reasoning_tokens: opts.reasoning.length } : {}),
    },
    { kind: 'done' },
  );
  return steps;
}

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export function openAiErrorBody(message: string, type: string, code: string | null = null): { error: FakeErrorObject } {
  return { error: { message, type, param: null, code } };
}

// ---- the server ----------------------------------------------------------------------------------------------

export async function startFakeOpenAiServer(): Promise<FakeOpenAiServer> {
  const queue: FakeScript[] = [];
  const requests: RecordedRequest[] = [];
  let seq = 0;

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let finished = false;
    let settle!: (early: boolean) => void;
    const closedEarly = new Promise<boolean>((resolve) => (settle = resolve));
    let gone = false;
    const goneWaiters: Array<() => void> = [];
    res.on('close', () => {
      gone = true;
      settle(!finished);
      for (const w of goneWaiters.splice(0)) w();
    });
    const untilGone = (): Promise<void> => (gone ? Promise.resolve() : new Promise((r) => goneWaiters.push(r)));
    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const onGone = (): void => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          goneWaiters.splice(goneWaiters.indexOf(onGone), 1);
          resolve();
        }, ms);
        goneWaiters.push(onGone);
      });

    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      /* recorded as {} — a test asserting the body will notice */
    }
    const path = req.url ?? '';
    requests.push({ method: req.method ?? '', path, headers: req.headers, body, closedEarly });

    const end = (): void => {
      finished = true;
      res.end();
    };
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      finished = true;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          openAiErrorBody(`Unknown request URL: ${req.method} ${path}`, 'invalid_request_error', 'unknown_url'),
        ),
      );
      return;
    }
    const script = queue.shift();
    if (!script) {
      finished = true;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(openAiErrorBody('fake server: no script queued for this request', 'server_error')));
      return;
    }
    if ('status' in script) {
      finished = true;
      res.writeHead(script.status, { 'content-type': 'application/json', ...script.headers });
      res.end(JSON.stringify(script.json));
      return;
    }

    if (script.hangBeforeHeaders) {
      await untilGone();
      return;
    }
    if (script.headersDelayMs) await sleep(script.headersDelayMs);
    if (gone) return;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();

    const id = `chatcmpl-fake${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const model = typeof body['model'] === 'string' ? body['model'] : 'fake-model';
    const includeUsage = (body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;
    const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake' };
    const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null): Record<string, unknown> => ({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const send = (payload: unknown): void => {
      res.write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);
    };

    // The first chunk of a real stream announces the role (tool-call streams carry content: null).
    const firstIsTool = script.stream.find((s) => s.kind !== 'delay')?.kind === 'tool_call';
    let first = true;
    for (const step of script.stream) {
      if (gone) return;
      const role = first && step.kind !== 'delay' ? { role: 'assistant' } : {};
      if (step.kind !== 'delay') first = false;
      switch (step.kind) {
        case 'content':
          send(chunk({ ...role, content: step.text, ...(role.role ? { refusal: null } : {}) }));
          break;
        case 'reasoning':
          send(chunk({ ...role, content: role.role ? '' : null, [step.field ?? 'reasoning_content']: step.text }));
          break;
        case 'tool_call': {
          const fragment: Record<string, unknown> = { index: step.index };
          if (step.id !== undefined) Object.assign(fragment, { id: step.id, type: 'function' });
          const fn: Record<string, string> = {};
          if (step.name !== undefined) fn['name'] = step.name;
          if (step.arguments !== undefined) fn['arguments'] = step.arguments;
          fragment['function'] = fn;
          send(chunk({ ...role, ...(firstIsTool && role.role ? { content: null } : {}), tool_calls: [fragment] }));
          break;
        }
        case 'finish':
          send(chunk({}, step.reason));
          break;
        case 'usage':
          send({
            ...base,
            choices: [],
            usage: {
              prompt_tokens: step.prompt_tokens,
              completion_tokens: step.completion_tokens,
              total_tokens: step.prompt_tokens + step.completion_tokens,
              prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
              completion_tokens_details: { reasoning_tokens: step.reasoning_tokens ?? 0, audio_tokens: 0 },
            },
          });
          break;
        case 'error':
          send({ error: step.error });
          break;
        case 'raw':
          if (step.data !== undefined) send(step.data);
          if (step.bytes !== undefined) res.write(step.bytes);
          break;
        case 'done':
          send('[DONE]');
          break;
        case 'delay':
          await sleep(step.ms);
          break;
        case 'hang':
          await untilGone();
          return;
        case 'destroy':
          res.socket?.destroy();
          return;
      }
    }
    if (!gone) end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...scripts) => void queue.push(...scripts),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
