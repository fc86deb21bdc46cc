/**
 * `/ds/v1/stream/<name>`: the Durable Streams protocol. Thin: authentication by the API-key guard (the key's
 * tenant is the namespace), everything else in {@link DsHttp}. The body arrives raw (see `dsRawBody`).
 */
import { Controller, Delete, Get, Head, Inject, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiKeyGuard, Tenant } from '../auth/api-key.guard.js';
import { ApiDsDocs } from '../docs/ds.docs.js';
import { DS_HTTP } from './ds.constants.js';
import type { DsHttp } from './ds-http.js';

@Controller('ds/v1/stream')
@UseGuards(ApiKeyGuard)
export class DsController {
  constructor(@Inject(DS_HTTP) private readonly ds: DsHttp) {}

  @Put('*name')
  @ApiDsDocs.create()
  create(@Tenant() tenant: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.ds.handle(tenant, req, res);
  }

  @Post('*name')
  @ApiDsDocs.append()
  append(@Tenant() tenant: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.ds.handle(tenant, req, res);
  }

  @Head('*name')
  @ApiDsDocs.head()
  head(@Tenant() tenant: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.ds.handle(tenant, req, res);
  }

  @Get('*name')
  @ApiDsDocs.read()
  read(@Tenant() tenant: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.ds.handle(tenant, req, res);
  }

  @Delete('*name')
  @ApiDsDocs.delete()
  remove(@Tenant() tenant: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.ds.handle(tenant, req, res);
  }
}
