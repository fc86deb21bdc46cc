/** The worker's diagnostics over NATS (request-reply; every worker answers). */
import { Controller, Inject } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { hostname } from 'node:os';
import { WORKER_SUBJECTS } from '@jobstream/contracts';
import { WorkerConfig } from '../config/worker.config.js';
import { ENGINE } from '../engine/engine.constants.js';
import type { Engine } from '../engine/engine.js';
import type { AgentRegistry } from '../worker-core/agents/agent.js';
import type { JobRunner } from '@jobstream/worker/runtime';
import { AGENT_REGISTRY, JOB_RUNNER } from '../worker-core/worker.constants.js';

export interface WorkerPingReply {
  ok: boolean;
  worker_id: string;
  hostname: string;
  pid: number;
  agents: string[];
  concurrency: number;
  running_jobs: string[];
  uptime_s: number;
  dependencies: Record<string, { up: boolean; message?: string }>;
}

/** This process's id in pings and logs: `<hostname>:<pid>`. */
export const WORKER_ID = `${hostname()}:${process.pid}`;

@Controller()
export class WorkerController {
  constructor(
    @Inject(JOB_RUNNER) private readonly runner: JobRunner,
    @Inject(AGENT_REGISTRY) private readonly agents: AgentRegistry,
    @Inject(ENGINE) private readonly engine: Engine,
    private readonly config: WorkerConfig,
  ) {}

  @MessagePattern(WORKER_SUBJECTS.ping)
  async ping(): Promise<WorkerPingReply> {
    const dependencies = await this.engine.health();
    return {
      ok: Object.values(dependencies).every((d) => d.up),
      worker_id: WORKER_ID,
      hostname: hostname(),
      pid: process.pid,
      agents: this.agents.names(),
      concurrency: this.config.workerConcurrency,
      running_jobs: this.runner.runningJobs(),
      uptime_s: Math.round(process.uptime()),
      dependencies,
    };
  }
}
