import { Broker, silentLogger } from '@relaybus/core';
import { MemoryTransport } from '@relaybus/memory';

/** A price service answers quotes; a request nobody answers times out with a typed error. */
export async function requestReply(print: (line: string) => void = console.log): Promise<string[]> {
  const transport = new MemoryTransport();
  const service = new Broker({ transport, logger: silentLogger });
  const client = new Broker({ transport, logger: silentLogger });
  await service.subscribe('quotes', (req: { sku: string; quantity: number }) => ({
    sku: req.sku,
    totalCents: req.quantity * 1250,
  }));
  const quote = await client.request<{ totalCents: number }>(
    'quotes',
    { sku: 'A-1', quantity: 3 },
    { timeoutMs: 1_000 },
  );
  const lines = [`quote: ${quote.totalCents} cents`];
  try {
    await client.request('nobody.listens', {}, { timeoutMs: 50 });
  } catch (error) {
    lines.push(`unanswered: ${(error as { code: string }).code}`);
  }
  for (const line of lines) print(line);
  await client.stop();
  await service.stop();
  return lines;
}
