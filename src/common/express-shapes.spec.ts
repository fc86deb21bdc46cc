import { describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { sharedShapeClasses } from './express-shapes.js';

describe('sharedShapeClasses', () => {
  it("builds requests and responses on the app's own prototypes, so Express's re-parenting changes nothing", async () => {
    const app = express();
    const originalRequest = app.request;
    const seen: [Request, Response][] = [];
    app.get('/x/:id', (req, res) => {
      seen.push([req, res]);
      res.status(201).json({ id: req.params.id, q: req.query.q, host: req.get('host'), same: req.app === app });
    });
    const classes = sharedShapeClasses(app);
    const server = http.createServer(classes, app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`http://127.0.0.1:${port}/x/${i}?q=a`);
        expect(r.status).toBe(201);
        expect(await r.json()).toEqual({ id: String(i), q: 'a', host: `127.0.0.1:${port}`, same: true });
      }
      // the request/response classes ARE the app's prototypes: Object.setPrototypeOf(req, app.request) is a no-op
      for (const [req, res] of seen) {
        expect(req).toBeInstanceOf(classes.IncomingMessage);
        expect(res).toBeInstanceOf(classes.ServerResponse);
        expect(Object.getPrototypeOf(req)).toBe(app.request);
        expect(Object.getPrototypeOf(res)).toBe(app.response);
      }
      // same chain as before: the app's request inherits Express's request methods and Node's IncomingMessage
      expect(Object.getPrototypeOf(app.request)).toBe(Object.getPrototypeOf(originalRequest));
      expect(app.request).toBeInstanceOf(http.IncomingMessage);
      expect((app.request as unknown as { app: unknown }).app).toBe(app);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
