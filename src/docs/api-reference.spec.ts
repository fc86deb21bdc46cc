/**
 * docs/api.md against the OpenAPI document the app builds: the same routes, and under each route's heading every
 * status, error-code example and parameter the document gives it; every contract error code is on the page.
 * The page's rules for this check are in its opening comment.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { createApp } from '../bootstrap.js';
import { loadConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { createEngine } from '../engine/engine.js';
import { buildOpenApiDocument } from './swagger.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'head', 'patch', 'options'];

type Mark = 'served' | 'not-yet-served' | 'outside-openapi';
interface DocRoute {
  key: string; // "POST /v1/jobs/{id}/cancel"
  text: string; // the text under its heading, up to the next heading
  mark: Mark;
}

/** Routes are `### \`METHOD /path\`` headings; a `## ` section whose body carries an api-doc marker marks its routes. */
function parseApiDoc(markdown: string): DocRoute[] {
  const routes: DocRoute[] = [];
  let mark: Mark = 'served';
  let current: DocRoute | null = null;
  for (const line of markdown.split('\n')) {
    const heading = /^(#{1,6})\s/.exec(line);
    if (heading) {
      current = null;
      if (heading[1].length <= 2) mark = 'served';
      const route = /^###\s+`([A-Z]+) (\/[^`\s]*)`\s*$/.exec(line);
      if (route) {
        const path = route[2].replace(/:([A-Za-z_]+)/g, '{$1}');
        current = { key: `${route[1]} ${path}`, text: '', mark };
        routes.push(current);
      }
      continue;
    }
    const marker = /<!--\s*api-doc:\s*(not-yet-served|outside-openapi)\s*-->/.exec(line);
    if (marker && current === null) mark = marker[1] as Mark;
    if (current) current.text += `${line}\n`;
  }
  return routes;
}

/** The members of the contract's `ErrorCode` union, read from its source (a type has no runtime list). */
function contractErrorCodes(): string[] {
  const src = readFileSync(root('libs/contracts/src/errors.ts'), 'utf8');
  const union = /export type ErrorCode =([^;]+);/.exec(src)?.[1] ?? '';
  return [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]);
}

let doc: OpenAPIObject;
let closeAll: () => Promise<void>;
const markdown = readFileSync(root('docs/api.md'), 'utf8');
const documented = parseApiDoc(markdown);

beforeAll(async () => {
  const config = loadConfig({ LOG_LEVEL: 'silent' }, hashKey);
  const quiet = { log() {}, warn() {}, error() {}, debug() {}, verbose() {} };
  const engine = await createEngine(config, quiet as unknown as Logger);
  const app = await createApp(config, engine, { logger: false });
  doc = buildOpenApiDocument(app);
  closeAll = async () => {
    await app.close();
    await engine.close();
  };
});
afterAll(async () => {
  await closeAll?.();
});

/** A route's identity: method and path, whatever its parameters are called (`{id}`, `{lease_id}` …). */
const shape = (key: string): string => key.replace(/\{[^}]+\}/g, '{}');

function operations(): { key: string; op: any }[] {
  const ops: { key: string; op: any }[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths))
    for (const method of METHODS)
      if (item[method]) ops.push({ key: `${method.toUpperCase()} ${path}`, op: item[method] });
  return ops;
}

describe('docs/api.md and the OpenAPI document', () => {
  it('parses a route heading per documented route, each once', () => {
    expect(documented.length).toBeGreaterThan(30);
    const keys = documented.map((r) => shape(r.key));
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it('documents every operation the OpenAPI document lists', () => {
    const inDoc = new Set(documented.map((r) => shape(r.key)));
    expect(
      operations()
        .filter(({ key }) => !inDoc.has(shape(key)))
        .map(({ key }) => `undocumented: ${key}`),
    ).toEqual([]);
  });

  it('documents no served route that the OpenAPI document lacks', () => {
    const served = new Set(operations().map(({ key }) => shape(key)));
    const wrong: string[] = [];
    for (const r of documented) {
      const isServed = served.has(shape(r.key));
      if (r.mark === 'served' && !isServed) wrong.push(`not in OpenAPI: ${r.key}`);
      // once a route is served, its section's marker must go (the not-yet-served one) or it belongs in OpenAPI
      if (r.mark === 'not-yet-served' && isServed)
        wrong.push(`served now, remove the "not-yet-served" marker of its section in docs/api.md: ${r.key}`);
      if (r.mark === 'outside-openapi' && isServed) wrong.push(`in OpenAPI after all: ${r.key}`);
    }
    expect(wrong).toEqual([]);
  });

  it('names, under each route, every status, error code and parameter the OpenAPI document gives it', () => {
    const byKey = new Map(documented.map((r) => [shape(r.key), r.text]));
    const missing: string[] = [];
    for (const { key, op } of operations()) {
      const text = byKey.get(shape(key));
      if (text === undefined) continue; // reported above
      for (const [status, res] of Object.entries<any>(op.responses ?? {})) {
        if (!new RegExp(`\\b${status}\\b`).test(text)) missing.push(`${key}: status ${status}`);
        for (const ex of Object.values<any>(res.content?.['application/json']?.examples ?? {})) {
          const code = ex.value?.error?.code;
          if (code && !text.includes(`\`${code}\``)) missing.push(`${key}: error code ${code} (${status})`);
        }
      }
      for (const p of op.parameters ?? []) {
        if (p.in !== 'path' && !text.includes(p.name)) missing.push(`${key}: ${p.in} parameter ${p.name}`);
        for (const value of p.schema?.enum ?? [])
          if (p.in === 'query' && p.name === 'format' && !text.includes(`\`${value}\``))
            missing.push(`${key}: format ${value}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists every error code of the contract', () => {
    const codes = contractErrorCodes();
    expect(codes.length).toBeGreaterThan(10);
    expect(codes.filter((c) => !markdown.includes(`\`${c}\``))).toEqual([]);
  });
});
