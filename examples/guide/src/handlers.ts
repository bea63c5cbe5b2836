import { Broker, silentLogger } from '@relaybus/core';
import { MemoryTransport } from '@relaybus/memory';

/** Two workers of one group share the orders; an audit group sees all of them. */
export async function handlers(print: (line: string) => void = console.log): Promise<Record<string, number>> {
  const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
  const counts: Record<string, number> = { 'worker-1': 0, 'worker-2': 0, audit: 0 };
  let resolveAll: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  const tally = (who: string) => {
    counts[who] = (counts[who] ?? 0) + 1;
    if (counts.audit === 6 && (counts['worker-1'] ?? 0) + (counts['worker-2'] ?? 0) === 6) resolveAll();
  };
  for (const consumer of ['worker-1', 'worker-2']) {
    await broker.subscribe<{ id: number }>('orders', () => tally(consumer), {
      group: 'fulfilment',
      consumer,
      concurrency: 2,
    });
  }
  await broker.subscribe('orders', () => tally('audit'), { group: 'audit' });
  await broker.publishMany(
    'orders',
    Array.from({ length: 6 }, (_, id) => ({ body: { id } })),
  );
  await all;
  print(
    `fulfilment: worker-1 ${counts['worker-1']}, worker-2 ${counts['worker-2']}; audit saw ${counts.audit}`,
  );
  await broker.stop();
  return counts;
}
