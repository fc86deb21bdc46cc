/** `POST /v1/ag-ui/:agent` (thin): validate the RunAgentInput, let AgUiService decide the run, stream it as SSE. */
import { Body, Controller, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiKeyGuard, Tenant } from '../auth/api-key.guard.js';
import { ApiError } from '../common/api-error.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { AppConfig } from '../config/config.js';
import { ApiAgUiDocs } from '../docs/ag-ui.docs.js';
import { JobStreamService } from '../jobs/job-stream.service.js';
import { StreamPlanner } from '../jobs/stream-planner.js';
import { CreateRateLimitGuard } from '../limits/create-rate-limit.guard.js';
import { StreamLimits } from '../limits/stream-limits.js';
import { SseConnections } from '../sse/sse-connections.js';
import { writeSse } from '../sse/sse-writer.js';
import { traceSession } from '../tracing/tracing.js';
import { AgUiService } from './ag-ui.service.js';
import { runAgentInputSchema, type RunAgentInput } from './run-agent-input.js';

@Controller('v1/ag-ui')
@UseGuards(ApiKeyGuard)
export class AgUiController {
  constructor(
    private readonly agUi: AgUiService,
    private readonly planner: StreamPlanner,
    private readonly streams: JobStreamService,
    private readonly connections: SseConnections,
    private readonly limits: StreamLimits,
    private readonly config: AppConfig,
  ) {}

  @Post(':agent')
  @UseGuards(CreateRateLimitGuard)
  @ApiAgUiDocs.run()
  async run(
    @Tenant() tenant: string,
    @Param('agent') agent: string,
    @Body(new ZodValidationPipe(runAgentInputSchema)) body: RunAgentInput,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (this.connections.isClosing) {
      throw new ApiError(503, 'service_unavailable', 'this instance is shutting down; retry', { 'Retry-After': '1' });
    }
    const release = await this.limits.reserve(tenant); // before anything is created
    try {
      this.limits.assertRoom();
      const { job, window } = await this.agUi.run(tenant, agent, body);
      const plan = await this.planner.agUi(job, undefined, window);
      // checked again right before the stream opens: no await between this check and writeSse's registration
      this.limits.assertRoom();
      res.once('close', release);
      // where the run goes on if this response breaks off (with the last `id:` as Last-Event-ID): the SDK's agUiFetch
      res.setHeader('X-Jobstream-Job-Id', job.id);
      res.setHeader('X-Jobstream-Stream-Url', `/v1/jobs/${job.id}/stream?format=ag-ui`);
      traceSession(res, 'ag-ui.run', { 'jobstream.job_id': job.id, 'jobstream.tenant': tenant });
      writeSse(req, res, this.connections, (sink) => this.streams.open(job.id, plan.start, sink, plan.render), {
        tenant,
        jobId: job.id,
        retryMs: this.config.sseRetryMs,
        maxBufferBytes: this.config.sseMaxBufferBytes,
      });
      if (req.socket.destroyed) release(); // the client left while the run was being created
    } catch (err) {
      release();
      throw err;
    }
  }
}
