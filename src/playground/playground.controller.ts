/** `GET /`: the playground page (public: loading it needs no key; the API calls it makes do, when auth is on). */
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/api-key.guard.js';
import { PLAYGROUND_CSP, PLAYGROUND_HTML } from './playground.page.js';

@Controller()
@ApiExcludeController()
export class PlaygroundController {
  @Get()
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', PLAYGROUND_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return PLAYGROUND_HTML;
  }
}
