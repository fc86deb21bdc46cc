/**
 * One hidden class for every request and every response.
 *
 * Express 5 re-parents each request and response onto its app's prototypes (`Object.setPrototypeOf(req,
 * app.request)` in `app.handle`). V8 gives each object re-parented that way a hidden class (map) of its own: about
 * 2.3 KiB of maps and descriptor arrays per request, held for the whole life of an open SSE stream, and every
 * property access on `req`/`res` (ours, Express's, Node's own `res.write`) megamorphic once there are many of them —
 * the heap snapshot diff of idle streams found it (bench/README.md, "Per idle connection").
 *
 * Here the HTTP server builds requests and responses as instances of classes whose prototypes ARE the app's
 * `request`/`response` objects (same chain: app prototype → Express's request/response → Node's), so Express's
 * re-parenting is a no-op and all of them share one map. Nothing else changes: `req.app`, `res.json`, … as before.
 */
import http from 'node:http';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';

/** Request/response classes whose prototypes become the app's `request`/`response` (installed on the app). */
export function sharedShapeClasses(app: Express): {
  IncomingMessage: typeof http.IncomingMessage;
  ServerResponse: typeof http.ServerResponse;
} {
  class Request extends http.IncomingMessage {}
  class Response extends http.ServerResponse {}
  adopt(app, 'request', Request.prototype);
  adopt(app, 'response', Response.prototype);
  return { IncomingMessage: Request, ServerResponse: Response as typeof http.ServerResponse };
}

/** Makes `proto` the app's `request` / `response`: same parent and the same own properties (`app`). */
function adopt(app: Express, key: 'request' | 'response', proto: object): void {
  const current = app[key] as object;
  Object.setPrototypeOf(proto, Object.getPrototypeOf(current));
  for (const name of Reflect.ownKeys(current))
    Object.defineProperty(proto, name, Object.getOwnPropertyDescriptor(current, name)!);
  (app as unknown as Record<string, object>)[key] = proto;
}

/** Nest's Express adapter with an HTTP server built on {@link sharedShapeClasses}. */
export class SharedShapeExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    // the options that need the adapter's own server set-up (none are used by this app)
    if (options?.httpsOptions || options?.return503OnClosing || options?.forceCloseConnections)
      return super.initHttpServer(options);
    const app = this.getInstance<Express>();
    this.httpServer = http.createServer(sharedShapeClasses(app), app);
  }
}
