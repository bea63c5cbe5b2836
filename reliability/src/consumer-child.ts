/**
 * A consumer process for the fault suite and the soak: drains a Redis Streams subject with a Broker
 * handler that records each message in the ledger (see ledger.ts) before the Broker acks it.
 * Prints `ready` on stdout once subscribed. SIGTERM stops it gracefully; the tests SIGKILL it.
 *
 * Usage: node consumer-child.js '<json ConsumerChildConfig>'
 */
import { Broker, silentLogger } from '@relaybus/core';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import { Redis } from 'iovalkey';
import type { ConsumerChildConfig } from './consumer-pool.js';

const config = JSON.parse(process.argv[2] ?? '{}') as ConsumerChildConfig;
const ledger = new Redis(config.url, { connectionName: 'faults:ledger' });
ledger.on('error', () => {
  // Reconnects by itself; a failed write fails the handler, and the message comes back.
});
const transport = new RedisStreamsTransport({
  connection: { url: config.url },
  minIdleMs: config.minIdleMs,
  blockMs: 1_000,
  logger: silentLogger,
});
const broker = new Broker({ transport, logger: silentLogger, stopDeadlineMs: 2_000 });
await broker.subscribe<{ sentAt?: number } | null>(
  config.subject,
  async (body, delivery) => {
    const write = ledger.multi().hincrby(config.ledgerKey, delivery.id, 1);
    if (config.latencyKey !== undefined && typeof body?.sentAt === 'number') {
      write.rpush(config.latencyKey, Date.now() - body.sentAt);
    }
    const replies = await write.exec();
    for (const [error] of replies ?? []) if (error) throw error;
  },
  {
    group: config.group,
    concurrency: config.concurrency,
    // Kills push delivery counts up; a message must never run out of deliveries in these runs.
    retry: { maxDeliveries: 1_000, backoff: { kind: 'fixed', delayMs: 100 } },
  },
);
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void broker
    .stop()
    .then(() => ledger.quit())
    .finally(() => process.exit(0));
});
