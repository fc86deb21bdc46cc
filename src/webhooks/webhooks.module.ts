import { Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MemoryWebhookStore, RedisWebhookStore, type FeedHandle, type WebhookStore } from '@jobstream/webhooks';
import { AppConfig } from '../config/config.js';
import { ENGINE } from '../engine/engine.constants.js';
import type { Engine } from '../engine/engine.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookMetrics } from './webhook-metrics.js';
import { WEBHOOK_STORE } from './webhooks.constants.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Webhooks: endpoints and delivery log (REST), the job event feed → deliveries, and the dispatcher. The store is
 * Redis when REDIS_URL (or REDIS_SENTINELS) is set (pending deliveries survive restarts and are shared by every API process), memory
 * otherwise (the embedded engine: one process).
 */
@Module({
  controllers: [WebhooksController],
  providers: [
    {
      provide: WEBHOOK_STORE,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<WebhookStore> =>
        config.hasRedis
          ? RedisWebhookStore.create({
              url: config.redisUrl,
              sentinel: config.redisSentinel,
              retentionMs: config.webhooks.retentionMs,
            })
          : new MemoryWebhookStore({ retentionMs: config.webhooks.retentionMs }),
    },
    WebhookMetrics,
    WebhooksService,
  ],
  exports: [WebhooksService, WEBHOOK_STORE],
})
export class WebhooksModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly dispatcher: WebhookDispatcher;
  private feed: FeedHandle | null = null;
  private readonly redis: boolean;

  constructor(
    @Inject(WEBHOOK_STORE) private readonly store: WebhookStore,
    @Inject(ENGINE) private readonly engine: Engine,
    private readonly service: WebhooksService,
    config: AppConfig,
    metrics: WebhookMetrics,
  ) {
    this.redis = config.hasRedis;
    const w = config.webhooks;
    this.dispatcher = new WebhookDispatcher(
      store,
      {
        timeoutMs: w.timeoutMs,
        retryScheduleMs: w.retryScheduleMs,
        concurrency: w.concurrency,
        pollMs: w.pollMs,
        allowPrivate: w.allowPrivate,
        leaseMarginMs: w.leaseMarginMs,
        tenantConcurrency: config.quotas.webhookTenantConcurrency,
      },
      metrics,
    );
    metrics.bindPending(() => store.pendingCount());
    service.setDeliveryCreatedHook(() => this.dispatcher.kick());
  }

  async onApplicationBootstrap(): Promise<void> {
    this.feed = await this.engine.jobEventFeed.start((e) => this.service.onJobEvent(e));
    this.dispatcher.start();
    if (this.engine.kind === 'nats' && !this.redis) {
      this.logger.warn(
        'REDIS_URL is unset: webhook endpoints and pending deliveries are kept in this process only (lost on restart); set REDIS_URL',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.feed?.stop().catch(() => {});
    this.feed = null;
    await this.dispatcher.stop();
    await this.store.close();
  }
}
