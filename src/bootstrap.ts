/**
 * Builds and starts the API: engine first (from validated config), then the Nest app; closes in the reverse order.
 * Used by `main.ts` and by the e2e tests (which listen on port 0).
 */
import { ConsoleLogger, Logger, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module.js';
import { natsMicroserviceOptions } from './common/nats-transport.js';
import { mapError } from './common/error-mapping.js';
import { API_QUEUE_GROUP } from '../libs/contracts/src/index.js';
import type { AppConfig } from './config/config.js';
import { setupSwagger } from './docs/swagger.js';
import { createEngine, type Engine } from './engine/engine.js';

export interface RunningApp {
  app: INestApplication;
  engine: Engine;
  config: AppConfig;
  /** Base URL, e.g. http://127.0.0.1:3000 */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: LoggerService | false;
  /** Listen on this port instead of config.port (tests use 0). */
  port?: number;
}

export function defaultLogger(config: AppConfig): LoggerService {
  const levels = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
  const upto: Record<string, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };
  const n = upto[config.logLevel] ?? 3;
  return new ConsoleLogger({ json: true, logLevels: config.logLevel === 'silent' ? [] : [...levels.slice(0, n + 1)] });
}

/**
 * CORS from CORS_ORIGINS (unset ⇒ no CORS headers at all, so browsers keep the same-origin rule). Registered first,
 * so preflights are answered before body parsing and auth. No cookies are used, so credentials stay off.
 */
export function applyCors(app: INestApplication, config: AppConfig): void {
  if (config.corsOrigins === null) return;
  app.enableCors({
    origin: config.corsOrigins,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID'],
    exposedHeaders: ['Retry-After', 'Location'],
    credentials: false,
    maxAge: 600,
  });
}

export async function createApp(config: AppConfig, engine: Engine, opts: StartOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, engine), {
    bodyParser: false,
    logger: opts.logger ?? defaultLogger(config),
    forceCloseConnections: true,
  });
  app.disable('x-powered-by');
  applyCors(app, config);
  app.use(express.json({ limit: config.maxBodyBytes, strict: true }));
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
  const logger = new Logger('Bootstrap');
  const engine = await createEngine(config, logger);
  let app: NestExpressApplication;
  try {
    app = await createApp(config, engine, opts);
    // The internal request-reply API over NATS (jobs.nats.controller.ts), on the production engine only.
    if (config.natsUrl) {
      app.connectMicroservice(natsMicroserviceOptions(config, { name: 'jobstream-api', queue: API_QUEUE_GROUP }));
      await app.startAllMicroservices();
    }
    await app.listen(opts.port ?? config.port, config.host);
  } catch (err) {
    await engine.close();
    throw err;
  }
  const addr = app.getHttpServer().address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  let closing: Promise<void> | null = null;
  return {
    app,
    engine,
    config,
    url: `http://${host}:${addr.port}`,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await engine.close();
      })()),
  };
}
