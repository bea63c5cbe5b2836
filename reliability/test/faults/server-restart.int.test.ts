import { Broker, isRelaybusError, silentLogger } from '@relaybus/core';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerPool, ledgerKey, readLedger, SteadyPublisher, summaryLine, tally } from '../../src/index.js';
import { pace, pick } from './fault-env.js';

const RATE_PER_SECOND = pick(200, 400);
/** Load before, between and after the two restarts. */
const PHASE_MS = pick(3_000, 15_000);

let server: RedisServer;
let pool: ConsumerPool | undefined;
let broker: Broker | undefined;
let failFast: Broker | undefined;
let ledger: Redis | undefined;

beforeAll(async () => {
  // AOF with appendfsync always: a write Redis acknowledged survives even a SIGKILL.
  server = await startRedis({ persistence: true });
});

afterAll(async () => {
  await pool?.stop();
  await broker?.stop();
  await failFast?.stop();
  ledger?.disconnect();
  await server?.stop();
});

function describeError(error: unknown): string {
  if (isRelaybusError(error)) return `${error.name} ${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

describe('server restarts', () => {
  it(
    'delivers every publish that resolved across two Redis restarts under load; refused ones fail with a typed, retryable error',
    async () => {
      const subject = randomSubject('restart');
      const key = ledgerKey(subject);
      pool = new ConsumerPool({
        url: server.url,
        subject,
        group: 'workers',
        minIdleMs: 1_000,
        concurrency: 8,
        ledgerKey: key,
      });
      await pool.start(2);
      const transport = new RedisStreamsTransport({ connection: { url: server.url }, logger: silentLogger });
      broker = new Broker({ transport, logger: silentLogger });
      ledger = new Redis(server.url);
      ledger.on('error', () => undefined);

      // A second publisher that does not wait out an outage (maxRetriesPerRequest 0), so some
      // publishes are refused and the test sees what a caller gets then.
      failFast = new Broker({
        transport: new RedisStreamsTransport({
          connection: { url: server.url, maxRetriesPerRequest: 0 },
          logger: silentLogger,
        }),
        logger: silentLogger,
      });
      const load = new SteadyPublisher(broker, subject, RATE_PER_SECOND);
      const eager = new SteadyPublisher(failFast, subject, RATE_PER_SECOND / 2);
      load.start();
      eager.start();
      await pace(PHASE_MS);
      const started = Date.now();
      await server.restart({ kill: true });
      const firstDownMs = Date.now() - started;
      await pace(PHASE_MS);
      const again = Date.now();
      await server.restart();
      const secondDownMs = Date.now() - again;
      await pace(PHASE_MS);
      await Promise.all([load.stop(), eager.stop()]);

      // What the caller saw when a publish was refused: typed, coded, saying what failed.
      const failures = [...load.failures, ...eager.failures];
      const refused = failures.map((failure) => describeError(failure.error));
      for (const failure of failures) {
        expect(isRelaybusError(failure.error), describeError(failure.error)).toBe(true);
      }
      const distinct = [...new Set(refused.map((text) => text.replace(/\d+/g, 'N')))];
      if (refused.length > 0) {
        console.info(`faults: server-restart: ${refused.length} refused publishes: ${distinct.join(' | ')}`);
      }
      // A caller retrying them (same id) gets them through now that Redis is back.
      const retried = (await load.retryFailures()) + (await eager.retryFailures());
      expect([...load.failures, ...eager.failures]).toEqual([]);
      const acknowledged = [...load.acknowledged, ...eager.acknowledged];

      const l = ledger;
      const settle = await until(
        async () => tally(acknowledged, await readLedger(l, key)).lost === 0,
        30_000,
        'every acknowledged publish to be handled',
      ).catch((error: unknown) => error);
      const result = tally(acknowledged, await readLedger(l, key));
      const deadLettered = (await transport.deadLetters(subject, { limit: 1_000 })).length;
      console.info(
        summaryLine('server-restart', result, {
          restarts: 2,
          refusedPublishes: failures.length,
          retriedOk: retried,
          deadLettered,
          downMs: `${firstDownMs}+${secondDownMs}`,
        }),
      );
      expect(result.lost, `lost ids: ${result.lostIds.join(', ')}; ${String(settle ?? '')}`).toBe(0);
      expect(deadLettered).toBe(0);
      expect(result.published).toBeGreaterThan(((3 * PHASE_MS) / 1_000) * RATE_PER_SECOND * 0.5);
    },
    3 * PHASE_MS + 90_000,
  );
});
