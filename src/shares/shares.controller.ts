/** REST endpoints of share links (thin: rules in SharesService). */
import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { createShareRequestSchema, type CreateShareRequest, type IssuedShare, type Share } from '@jobstream/contracts';
import { ApiKeyGuard, Tenant } from '../auth/api-key.guard.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ApiJobManagementDocs } from '../docs/threads.docs.js';
import { SharesService } from './shares.service.js';

@Controller('v1/jobs/:id/shares')
@UseGuards(ApiKeyGuard)
export class SharesController {
  constructor(private readonly shares: SharesService) {}

  @Post()
  @HttpCode(201)
  @Header('Cache-Control', 'no-store')
  @ApiJobManagementDocs.createShare()
  create(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(createShareRequestSchema.optional(), 'share')) body: CreateShareRequest | undefined,
  ): Promise<IssuedShare> {
    return this.shares.create(tenant, id, body?.expires_in_s);
  }

  @Get()
  @ApiJobManagementDocs.listShares()
  list(@Tenant() tenant: string, @Param('id') id: string): Promise<{ items: Share[] }> {
    return this.shares.list(tenant, id);
  }

  @Delete(':share_id')
  @HttpCode(204)
  @ApiJobManagementDocs.deleteShare()
  async revoke(@Tenant() tenant: string, @Param('id') id: string, @Param('share_id') shareId: string): Promise<void> {
    await this.shares.revoke(tenant, id, shareId);
  }
}
