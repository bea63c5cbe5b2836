import { Broker, silentLogger } from '@relaybus/core';
import { MemoryTransport } from '@relaybus/memory';

/**
 * `stop()` lets a running handler finish before closing. In a service, `handleSignals(broker)` calls
 * it on SIGTERM / SIGINT and then exits.
 */
export async function shutdown(print: (line: string) => void = console.log): Promise<string[]> {
  const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
  const events: string[] = [];
  let started: () => void = () => {};
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  await broker.subscribe('reports', async () => {
    events.push('handler started');
    started();
    await new Promise((resolve) => setTimeout(resolve, 50));
    events.push('handler finished');
  });
  await broker.publish('reports', { month: '2026-10' });
  await running;
  events.push('stop requested');
  await broker.stop({ deadlineMs: 5_000 });
  events.push(`stopped (status ${broker.health().status})`);
  for (const line of events) print(line);
  return events;
}
