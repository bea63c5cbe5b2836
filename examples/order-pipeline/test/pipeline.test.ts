import { MemoryTransport } from '@relaybus/memory';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.js';

describe('order pipeline demo', () => {
  it('splits orders over both workers, audits all, and dead-letters the two bad ones', async () => {
    const report = await runPipeline(new MemoryTransport(), { orders: 10 });
    const fulfilled = [...(report.processedBy['worker-a'] ?? []), ...(report.processedBy['worker-b'] ?? [])];
    expect(fulfilled).toHaveLength(8);
    expect(new Set(fulfilled).size).toBe(8);
    expect(report.processedBy['worker-a']?.length).toBeGreaterThan(0);
    expect(report.processedBy['worker-b']?.length).toBeGreaterThan(0);
    expect(report.audited.sort()).toHaveLength(10);
    expect(report.attempts['order-004']).toBe(3);
    const reasons = Object.fromEntries(report.deadLetters.map((d) => [d.orderId, d.reason]));
    expect(reasons['order-004']).toMatch(/^max-deliveries: unknown SKU/);
    expect(reasons['order-007']).toMatch(/^rejected: quantity must be positive/);
  });
});
