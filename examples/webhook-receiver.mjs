#!/usr/bin/env node
/**
 * A tiny webhook receiver that verifies jobstream's Standard Webhooks signatures.
 *
 *   WEBHOOK_SECRET=whsec_… node examples/webhook-receiver.mjs      # listens on http://127.0.0.1:4000/hook
 *
 * It verifies every request with the `standardwebhooks` package (HMAC-SHA256 over "id.timestamp.body", timestamps
 * older than 5 minutes refused), answers 204 quickly, and drops duplicates by `webhook-id` (deliveries are at least
 * once: the same message can come twice, e.g. after a timeout or a redeliver).
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const secret = process.env.WEBHOOK_SECRET;
if (!secret?.startsWith('whsec_')) {
  console.error('set WEBHOOK_SECRET to the secret returned by POST /v1/webhooks (whsec_…)');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 4000);
const wh = new Webhook(secret);
const seen = new Set();

createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/hook') return res.writeHead(404).end();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8'); // verify the RAW body, before any JSON parsing
    let msg;
    try {
      msg = wh.verify(body, req.headers);
    } catch (err) {
      console.warn(`refused: ${err.message}`);
      return res.writeHead(401).end();
    }
    const id = req.headers['webhook-id'];
    if (seen.has(id)) return res.writeHead(204).end(); // already handled
    seen.add(id);
    const { job } = msg.data;
    console.log(`${msg.type} ${job.id} status=${job.status} usage=${JSON.stringify(job.usage)} (${id})`);
    res.writeHead(204).end(); // answer fast (< 10 s); do slow work after answering
  });
}).listen(port, '127.0.0.1', () => console.log(`webhook receiver on http://127.0.0.1:${port}/hook`));
