import { Broker, Reject, silentLogger } from '@relaybus/core';
import { MemoryTransport } from '@relaybus/memory';

/** A flaky payment succeeds on its third delivery; a bad card is rejected at once. */
export async function retries(print: (line: string) => void = console.log): Promise<string[]> {
  const transport = new MemoryTransport();
  const broker = new Broker({ transport, logger: silentLogger });
  const log: string[] = [];
  let settledPayments = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  await broker.subscribe<{ card: string }>(
    'payments',
    (payment, delivery) => {
      log.push(`${payment.card} attempt ${delivery.deliveryCount}`);
      if (payment.card === 'stolen') {
        settledPayments++;
        throw new Reject('card reported stolen');
      }
      if (delivery.deliveryCount < 3) throw new Error('gateway timeout');
      settledPayments++;
      if (settledPayments === 2) done();
    },
    {
      retry: {
        maxDeliveries: 5,
        backoff: { kind: 'exponential', initialDelayMs: 20, maxDelayMs: 200, jitter: 0.2 },
      },
    },
  );
  await broker.publish('payments', { card: 'visa' });
  await broker.publish('payments', { card: 'stolen' });
  await finished;
  let letters = await transport.deadLetters('payments');
  for (let i = 0; letters.length === 0 && i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    letters = await transport.deadLetters('payments');
  }
  for (const line of log) print(line);
  for (const letter of letters) print(`dead letter: ${letter.headers['x-relaybus-dead-letter-reason']}`);
  await broker.stop();
  return [...log, ...letters.map((l) => `dead: ${l.headers['x-relaybus-dead-letter-reason']}`)];
}
