import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.js';
import { setUpTransport, transportFromArgs } from '../src/transports.js';

describe('the demo on the Redis transports, on the embedded server', () => {
  it('runs on Streams: workers share the orders, the audit group sees each once, two dead letters', async () => {
    const setup = await setUpTransport('streams', undefined);
    try {
      expect(setup.where).toMatch(/^on the embedded Redis server at 127\.0\.0\.1:\d+$/);
      const report = await runPipeline(setup.transport, { orders: 10 });
      const fulfilled = [
        ...(report.processedBy['worker-a'] ?? []),
        ...(report.processedBy['worker-b'] ?? []),
      ];
      expect(new Set(fulfilled).size).toBe(8);
      // A retried order is audited once: requeued copies are for the group that asked for them.
      expect([...report.audited].sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => `order-${String(i + 1).padStart(3, '0')}`),
      );
      const reasons = Object.fromEntries(report.deadLetters.map((d) => [d.orderId, d.reason]));
      expect(reasons['order-004']).toMatch(/^max-deliveries: unknown SKU/);
      expect(reasons['order-007']).toMatch(/^rejected: quantity must be positive/);
    } finally {
      await setup.close();
    }
  });

  it('runs on lists (no audit group: lists have no fan-out groups)', async () => {
    const setup = await setUpTransport('lists', undefined);
    try {
      const report = await runPipeline(setup.transport, { orders: 10 });
      const fulfilled = [
        ...(report.processedBy['worker-a'] ?? []),
        ...(report.processedBy['worker-b'] ?? []),
      ];
      expect(new Set(fulfilled).size).toBe(8);
      expect(report.audited).toEqual([]);
      expect(report.deadLetters.map((d) => d.orderId).sort()).toEqual(['order-004', 'order-007']);
    } finally {
      await setup.close();
    }
  });

  it('runs on Pub/Sub: no competing consumers, so each worker sees every good order', async () => {
    const setup = await setUpTransport('pubsub', undefined);
    try {
      const report = await runPipeline(setup.transport, { orders: 10 });
      expect(report.processedBy['worker-a']).toHaveLength(8);
      expect(report.processedBy['worker-b']).toHaveLength(8);
      expect(report.audited).toHaveLength(10);
    } finally {
      await setup.close();
    }
  });

  it('reads --transport and rejects an unknown one with the allowed names', () => {
    expect(transportFromArgs([])).toBe('memory');
    expect(transportFromArgs(['--transport', 'streams'])).toBe('streams');
    expect(transportFromArgs(['--transport=lists'])).toBe('lists');
    expect(() => transportFromArgs(['--transport', 'kafka'])).toThrow(/memory, streams, lists, pubsub/);
  });
});
