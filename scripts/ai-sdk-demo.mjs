#!/usr/bin/env node
/**
 * Reads a job with the Vercel AI SDK's own client (`ai` package, a devDependency): creates an `echo` job, attaches
 * to it through `DefaultChatTransport.reconnectToStream` (the useChat resume path) pointed at
 * `/v1/jobs/:id/stream?format=ai-sdk`, assembles it with `readUIMessageStream`, and prints the final UI message.
 *
 *   node scripts/ai-sdk-demo.mjs [baseUrl=http://localhost:3000] [message]
 * With API_KEY set, it is sent as the bearer key.
 */
import { DefaultChatTransport, readUIMessageStream } from 'ai';

const base = process.argv[2] ?? 'http://localhost:3000';
const message = process.argv[3] ?? 'Hello from a resumable stream, token by token.';
const headers = process.env.API_KEY ? { Authorization: `Bearer ${process.env.API_KEY}` } : {};

const res = await fetch(`${base}/v1/jobs`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify({ agent: 'echo', input: { message, delay_ms: 100, tool: true } }),
});
const job = await res.json();
if (!res.ok) throw new Error(JSON.stringify(job));

const transport = new DefaultChatTransport({
  api: '/unused',
  headers,
  prepareReconnectToStreamRequest: () => ({ api: `${base}/v1/jobs/${job.id}/stream?format=ai-sdk` }),
});
const stream = await transport.reconnectToStream({ chatId: job.id });
let updates = 0;
let final;
for await (const m of readUIMessageStream({ stream })) {
  updates++;
  final = m;
}
const text = final.parts
  .filter((p) => p.type === 'text')
  .map((p) => p.text)
  .join('');
console.log(JSON.stringify({ job_id: job.id, updates, text, message: final }, null, 2));
if (text !== message) process.exitCode = 1;
