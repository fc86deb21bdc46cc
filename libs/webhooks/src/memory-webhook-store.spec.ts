import { MemoryWebhookStore } from './memory-webhook-store.js';
import { webhookStoreConformance } from './testing/webhook-store.conformance.js';

webhookStoreConformance('memory', async () => new MemoryWebhookStore({ retentionMs: 3_600_000 }));
