import { describe, expect, it } from '@jest/globals';
import { MemoryJobControl, MemoryJobQueue } from './memory-job-queue.js';
import { jobQueueConformance } from './testing/job-queue.conformance.js';

jobQueueConformance('memory', async () => new MemoryJobQueue());

describe('MemoryJobControl', () => {
  it('reaches every listener until it leaves', async () => {
    const c = new MemoryJobControl();
    const got: string[] = [];
    const off = await c.onCancel((id, reason) => got.push(`${id}:${reason}`));
    await c.requestCancel('job_a', 'user');
    off();
    await c.requestCancel('job_b', 'user');
    expect(got).toEqual(['job_a:user']);
  });
});
