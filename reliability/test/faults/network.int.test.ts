import { Broker, type Transport } from '@relaybus/core';
import { RedisListsTransport } from '@relaybus/redis-lists';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, ledgerKey, readLedger, SteadyPublisher, summaryLine, tally } from '../../src/index.js';
import { RecordingLogger } from '../recording-logger.js';
import { pace, pick } from './fault-env.js';

const RATE_PER_SECOND = pick(150, 300);
const PHASE_MS = pick(1_500, 8_000);
const STALL_MS = pick(3_000, 8_000);
const SLOW_CHUNK_MS = 20;

let server: RedisServer;
let ledger: Redis;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  server = await startRedis();
  ledger = new Redis(server.url);
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

afterAll(async () => {
  ledger?.disconnect();
  await server?.stop();
});

type Factory = (url: string, logger: RecordingLogger) => Transport;

const transports: Array<[string, Factory]> = [
  [
    'redis-streams',
    // minIdleMs well above the stall: a stalled consumer keeps what it holds.
    (url, logger) =>
      new RedisStreamsTransport({ connection: { url }, minIdleMs: 10_000, blockMs: 1_000, logger }),
  ],
  [
    'redis-lists',
    (url, logger) =>
      new RedisListsTransport({ connection: { url }, heartbeatTtlMs: 15_000, blockMs: 1_000, logger }),
  ],
];

describe('network faults between clients and Redis (cut, stall, slow)', () => {
  it.each(transports)(
    '%s: clients reconnect, blocked reads resume, nothing is lost or settled twice',
    async (name, makeTransport) => {
      const proxy = await FaultProxy.start({ port: server.port });
      cleanup.push(() => proxy.close());
      const subject = randomSubject(`net-${name}`);
      const key = ledgerKey(subject);
      const logger = new RecordingLogger();
      const brokers = [0, 1, 2].map(
        () => new Broker({ transport: makeTransport(proxy.url(), logger), logger, stopDeadlineMs: 2_000 }),
      );
      cleanup.push(() => Promise.all(brokers.map((broker) => broker.stop())));
      const [publisher, ...consumers] = brokers as [Broker, Broker, Broker];
      for (const consumer of consumers) {
        await consumer.subscribe(
          subject,
          async (_body, delivery) => {
            await ledger.hincrby(key, delivery.id, 1);
          },
          { concurrency: 4, retry: { maxDeliveries: 1_000, backoff: { kind: 'fixed', delayMs: 100 } } },
        );
      }
      const load = new SteadyPublisher(publisher, subject, RATE_PER_SECOND);
      load.start();
      const handledSoFar = async (): Promise<number> => (await ledger.hlen(key)) as number;

      await pace(PHASE_MS);
      const acceptedBeforeCut = proxy.stats().accepted;
      const cut = proxy.cut();
      expect(cut).toBeGreaterThanOrEqual(3);
      const afterCut = await handledSoFar();
      await until(
        async () => (await handledSoFar()) > afterCut + 50,
        20_000,
        'handling resumes after the cut',
      );
      expect(proxy.stats().accepted).toBeGreaterThan(acceptedBeforeCut);

      // Every connection goes quiet, blocked reads included, then everything held is delivered.
      const beforeStall = await handledSoFar();
      await proxy.stall(STALL_MS);
      await until(
        async () => (await handledSoFar()) > beforeStall + 50,
        20_000,
        'handling resumes after the stall',
      );

      proxy.slow(SLOW_CHUNK_MS);
      const beforeSlow = await handledSoFar();
      await pace(PHASE_MS);
      await until(
        async () => (await handledSoFar()) > beforeSlow + 20,
        20_000,
        'handling goes on while slowed',
      );
      proxy.slow(0);
      await pace(PHASE_MS);
      await load.stop();
      const retried = load.failures.length;
      await load.retryFailures();

      const settle = await until(
        async () => tally(load.acknowledged, await readLedger(ledger, key)).lost === 0,
        30_000,
        'every acknowledged publish to be handled',
      ).catch((error: unknown) => error);
      const result = tally(load.acknowledged, await readLedger(ledger, key));
      const deadLettered = (await publisher.transport.deadLetters?.(subject, { limit: 1_000 }))?.length ?? 0;
      const doubleSettled = logger.problems(/ALREADY_SETTLED|already settled/i);
      console.info(
        summaryLine(`network-${name}`, result, {
          cuts: 1,
          cutConnections: cut,
          stallMs: STALL_MS,
          slowChunkMs: SLOW_CHUNK_MS,
          refusedPublishes: retried,
          deadLettered,
          settledTwice: doubleSettled.length,
        }),
      );
      expect(result.lost, `lost ids: ${result.lostIds.join(', ')}; ${String(settle ?? '')}`).toBe(0);
      expect(deadLettered).toBe(0);
      expect(doubleSettled).toEqual([]);
    },
    120_000,
  );
});
