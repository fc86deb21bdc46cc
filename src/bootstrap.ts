/**
 * Builds and starts the API: engine first (from validated config), then the Nest app; closes in the reverse order.
 * Used by `main.ts` and by the e2e tests (which listen on port 0).
 */
import { Logger, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module.js';
import { natsMicroserviceOptions } from './common/nats-transport.js';
import { mapError } from './common/error-mapping.js';
import { answerClientErrorsAsJson } from './common/client-error.js';
import { SharedShapeExpressAdapter } from './common/express-shapes.js';
import { assertJsonStructure, JsonStructureError } from './common/json-limits.js';
import { API_QUEUE_GROUP } from '@jobstream/contracts';
import type { AppConfig } from './config/config.js';
import { setupSwagger } from './docs/swagger.js';
import { DS_REQUEST_HEADERS, DS_RESPONSE_HEADERS } from './ds/ds-protocol.js';
import { createEngine, type Engine } from './engine/engine.js';
import { createAppLogger, defaultLogger, loggerParams } from './logging/logging.js';
import { startTracing } from './tracing/tracing.js';

export interface RunningApp {
  app: INestApplication;
  engine: Engine;
  config: AppConfig;
  /** Base URL to connect to, e.g. http://127.0.0.1:3000 (loopback when bound to every interface) */
  url: string;
  /** Where the socket is really bound, for the log: `http://127.0.0.1:3000`, or for every interface
   *  `0.0.0.0:3000 (every interface; http://127.0.0.1:3000 from this machine)` */
  listening: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Nest's logger: default the app's pino logger (JSON lines); `false` silences Nest (tests). */
  logger?: LoggerService | false;
  /** Where the JSON log lines go (default stdout); tests pass a stream to read them. */
  logDestination?: DestinationStream;
  /** Listen on this port instead of config.port (tests use 0). */
  port?: number;
}

/**
 * CORS from CORS_ORIGINS (unset ⇒ no CORS headers at all, so browsers keep the same-origin rule). Registered first,
 * so preflights are answered before body parsing and auth. No cookies are used, so credentials stay off.
 */
export function applyCors(app: INestApplication, config: AppConfig): void {
  if (config.corsOrigins === null) return;
  app.enableCors({
    origin: config.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID', ...DS_REQUEST_HEADERS],
    exposedHeaders: [
      'Retry-After',
      'Location',
      'X-Jobstream-Filter',
      'x-vercel-ai-ui-message-stream',
      // AG-UI runs: where a run goes on after a dropped response (the SDK's agUiFetch reads them)
      'X-Jobstream-Job-Id',
      'X-Jobstream-Stream-Url',
      ...DS_RESPONSE_HEADERS,
    ],
    credentials: false,
    maxAge: 600,
  });
}

export async function createApp(
  config: AppConfig,
  engine: Engine,
  opts: StartOptions = {},
): Promise<NestExpressApplication> {
  // `logger: false` (tests) silences the request log too, unless a destination asks for the lines.
  const params = loggerParams(config, opts.logDestination, opts.logger === false && !opts.logDestination);
  // one hidden class for all requests / responses (src/common/express-shapes.ts)
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, engine, params),
    new SharedShapeExpressAdapter(),
    {
      bodyParser: false,
      logger: opts.logger ?? createAppLogger(params),
      // Not forced: at shutdown open streams are ended by SseConnections, idle keep-alive sockets are closed by the
      // server, and in-flight requests get a grace period before their sockets are destroyed (ShutdownService).
      forceCloseConnections: false,
    },
  );
  app.disable('x-powered-by');
  applyCors(app, config);
  answerClientErrorsAsJson(app.getHttpServer());
  // Durable Streams bodies are bytes of any content type, JSON included: read raw (the JSON parser below then skips
  // them), up to DS_MAX_BODY_BYTES
  app.use('/ds', express.raw({ type: () => true, limit: config.ds.maxBodyBytes }));
  app.use(
    express.json({
      limit: config.maxBodyBytes,
      strict: true,
      // structural limits (depth, keys, items, no __proto__) on the raw bytes, before JSON.parse and before any
      // validation or copying code sees the value; JSON is UTF-8 (RFC 8259 §8.1)
      verify: (_req, _res, buf, encoding) => {
        if (encoding && encoding.toLowerCase().replace('-', '') !== 'utf8') {
          throw new JsonStructureError('JSON bodies must be UTF-8', 415, 'charset.unsupported');
        }
        assertJsonStructure(buf);
      },
    }),
  );
  // body-parser errors happen before Nest's exception filters: render them with the same mapping.
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const m = mapError(err);
    for (const [k, v] of Object.entries(m.headers)) res.setHeader(k, v);
    res.status(m.status).json(m.body);
  });
  setupSwagger(app);
  return app;
}

export async function startApp(config: AppConfig, opts: StartOptions = {}): Promise<RunningApp> {
  // The app's logger from the very start, so that the engine's start-up lines are JSON too.
  if (opts.logger !== false) Logger.overrideLogger(opts.logger ?? defaultLogger(config, opts.logDestination));
  const logger = new Logger('Bootstrap');
  const tracing = await startTracing(config, 'jobstream-api');
  const engine = await createEngine(config, logger).catch(async (err: unknown) => {
    await tracing?.shutdown();
    throw err;
  });
  let app: NestExpressApplication;
  try {
    app = await createApp(config, engine, opts);
    // The internal request-reply API over NATS (jobs.nats.controller.ts), on the production engine only, on the
    // engine's connection (one per process).
    if (config.natsUrl) {
      app.connectMicroservice(
        natsMicroserviceOptions(config, { name: 'jobstream-api', queue: API_QUEUE_GROUP }, engine.nats),
      );
      await app.startAllMicroservices();
    }
    await app.listen(opts.port ?? config.port, config.host);
  } catch (err) {
    await engine.close();
    await tracing?.shutdown();
    throw err;
  }
  const addr = app.getHttpServer().address() as AddressInfo;
  const everywhere = addr.address === '0.0.0.0' || addr.address === '::';
  const host = everywhere ? '127.0.0.1' : addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  const listening = everywhere
    ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port} (every interface; ${url} from this machine)`
    : url;
  let closing: Promise<void> | null = null;
  return {
    app,
    engine,
    config,
    url,
    listening,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await engine.close();
        await tracing?.shutdown(); // flushes the spans still buffered
      })()),
  };
}
