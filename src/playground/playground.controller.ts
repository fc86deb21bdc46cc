/**
 * `GET /`: the playground page, and its script and style under `/playground/` (public: loading them needs no key;
 * the API calls the page makes do, when auth is on). The files are read at start: see `playground.assets.ts`.
 */
import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/api-key.guard.js';
import {
  PLAYGROUND_ASSETS,
  PLAYGROUND_CSS_PATH,
  PLAYGROUND_JS_PATH,
  type PlaygroundAssets,
} from './playground.assets.js';

@Controller()
@ApiExcludeController()
export class PlaygroundController {
  constructor(@Inject(PLAYGROUND_ASSETS) private readonly assets: PlaygroundAssets) {}

  @Get()
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-cache')
  page(@Res({ passthrough: true }) res: Response): string {
    res.setHeader('Content-Security-Policy', this.assets.csp);
    return this.assets.html;
  }

  @Get(PLAYGROUND_JS_PATH)
  @Public()
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cross-Origin-Resource-Policy', 'same-origin')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return this.assets.js;
  }

  @Get(PLAYGROUND_CSS_PATH)
  @Public()
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cross-Origin-Resource-Policy', 'same-origin')
  @Header('Cache-Control', 'no-cache')
  style(): string {
    return this.assets.css;
  }
}
