import { Broker, silentLogger } from '@relaybus/core';
import { MemoryTransport } from '@relaybus/memory';

/**
 * Health of a broker and its subscriptions. Traces and metrics go through `@opentelemetry/api`:
 * register an SDK in the application (see docs/guide/tracing-and-metrics.md) and the spans
 * `send <subject>` / `process <subject>` and the messaging metrics appear; without one they cost
 * next to nothing.
 */
export async function telemetry(print: (line: string) => void = console.log): Promise<string> {
  const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
  let handled = 0;
  await broker.subscribe('events', () => {
    handled++;
  });
  await broker.publishMany(
    'events',
    Array.from({ length: 5 }, (_, n) => ({ body: { n } })),
  );
  for (let i = 0; handled < 5 && i < 200; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; (broker.health().subscriptions[0]?.handled ?? 0) < 5 && i < 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const health = broker.health();
  const line = `status ${health.status}, connected ${health.connected}, handled ${health.subscriptions[0]?.handled}`;
  print(line);
  await broker.stop();
  return line;
}
