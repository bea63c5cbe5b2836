import { Broker, type Logger, Reject, silentLogger, type Transport } from '@relaybus/core';

/** An order as the shop publishes it. */
export interface Order {
  readonly orderId: string;
  readonly sku: string;
  readonly quantity: number;
}

/** What the demo observed, for printing and for its test. */
export interface PipelineReport {
  readonly processedBy: Record<string, string[]>;
  readonly audited: string[];
  readonly attempts: Record<string, number>;
  readonly deadLetters: Array<{ orderId: string; reason: string; deliveryCount: string }>;
}

/**
 * Runs the order pipeline on `transport`: a producer publishes orders, two workers of the
 * `fulfilment` group share them, an `audit` group sees every one of them, one order with a bad SKU
 * fails until its retries run out and ends in the dead letters, one with a negative quantity is
 * rejected at once. Resolves when every order was settled.
 */
export async function runPipeline(
  transport: Transport,
  options: { orders?: number; print?: (line: string) => void; logger?: Logger } = {},
): Promise<PipelineReport> {
  const print = options.print ?? (() => {});
  const count = options.orders ?? 10;
  const broker = new Broker({ transport, logger: options.logger ?? silentLogger });
  const processedBy: Record<string, string[]> = { 'worker-a': [], 'worker-b': [] };
  const attempts: Record<string, number> = {};
  const audited: string[] = [];
  const settled = new Set<string>();
  let allSettled: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allSettled = resolve;
  });
  const markSettled = (orderId: string) => {
    settled.add(orderId);
    if (settled.size === count && (audited.length === count || !transport.capabilities.fanOutGroups)) {
      allSettled();
    }
  };

  for (const worker of ['worker-a', 'worker-b'] as const) {
    await broker.subscribe<Order>(
      'orders',
      async (order, delivery) => {
        attempts[order.orderId] = delivery.deliveryCount;
        if (order.quantity < 0) {
          print(`${worker}  ${order.orderId}  rejected: quantity ${order.quantity} (no retry)`);
          markSettled(order.orderId);
          throw new Reject(`quantity must be positive, got ${order.quantity}`);
        }
        if (order.sku === 'SKU-MISSING') {
          // Without redelivery (Pub/Sub) the first failure is the last one.
          const last = delivery.deliveryCount === 3 || !transport.capabilities.requeue;
          print(`${worker}  ${order.orderId}  attempt ${delivery.deliveryCount} failed: unknown SKU`);
          if (last) markSettled(order.orderId);
          throw new Error(`unknown SKU ${order.sku}`);
        }
        processedBy[worker]?.push(order.orderId);
        print(`${worker}  ${order.orderId}  fulfilled ${order.quantity} × ${order.sku}`);
        markSettled(order.orderId);
      },
      {
        group: 'fulfilment',
        consumer: worker,
        concurrency: 2,
        retry: { maxDeliveries: 3, backoff: { kind: 'exponential', initialDelayMs: 50, maxDelayMs: 200 } },
      },
    );
  }
  // A second group sees every order, beside the workers, where the transport has fan-out groups.
  const audits = transport.capabilities.fanOutGroups;
  if (audits) {
    await broker.subscribe<Order>(
      'orders',
      (order) => {
        audited.push(order.orderId);
        if (settled.size === count && audited.length === count) allSettled();
      },
      { group: 'audit' },
    );
  } else {
    print(`audit     skipped: ${transport.name} has no fan-out groups`);
  }

  for (let i = 1; i <= count; i++) {
    const orderId = `order-${String(i).padStart(3, '0')}`;
    const sku = i === 4 ? 'SKU-MISSING' : `SKU-${100 + (i % 3)}`;
    const quantity = i === 7 ? -1 : 1 + (i % 4);
    await broker.publish<Order>('orders', { orderId, sku, quantity }, { key: orderId });
  }
  print(`producer  published ${count} orders`);

  await done;
  // The two bad orders settle as dead letters right after their handlers return.
  const deadLetters = await waitForDeadLetters(transport, 'orders', 2, 5_000);
  await broker.stop();
  return {
    processedBy,
    audited,
    attempts,
    deadLetters: deadLetters.map((letter) => ({
      orderId: letter.headers['x-relaybus-partition-key'] ?? letter.id,
      reason: letter.headers['x-relaybus-dead-letter-reason'] ?? '',
      deliveryCount: letter.headers['x-relaybus-delivery-count'] ?? '',
    })),
  };
}

async function waitForDeadLetters(transport: Transport, subject: string, count: number, timeoutMs: number) {
  if (transport.deadLetters === undefined) return [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const letters = await transport.deadLetters(subject);
    if (letters.length >= count || Date.now() > deadline) return letters;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
