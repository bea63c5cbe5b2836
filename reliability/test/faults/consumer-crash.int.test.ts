import { Broker, silentLogger } from '@relaybus/core';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerPool, ledgerKey, readLedger, SteadyPublisher, summaryLine, tally } from '../../src/index.js';
import { pace, pick } from './fault-env.js';

const RUN_MS = pick(10_000, 60_000);
const RATE_PER_SECOND = pick(200, 500);
const CONSUMERS = 3;
const KILL_EVERY_MS = 1_000;
/**
 * Kills the run needs at least: it goes on past RUN_MS (up to three times it) until it has them.
 * Only a consumer that is up is killed, and on a loaded machine a replacement takes seconds to start.
 */
const MIN_KILLS = pick(5, 45);
const MIN_IDLE_MS = 1_000;

let server: RedisServer;
let pool: ConsumerPool | undefined;
let broker: Broker | undefined;
let ledger: Redis | undefined;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await pool?.stop();
  await broker?.stop();
  ledger?.disconnect();
  await server?.stop();
});

describe('consumer crashes', () => {
  it(
    'handles every published message at least once while a consumer process is SIGKILLed every second',
    async () => {
      const subject = randomSubject('crash');
      const key = ledgerKey(subject);
      pool = new ConsumerPool({
        url: server.url,
        subject,
        group: 'workers',
        minIdleMs: MIN_IDLE_MS,
        concurrency: 8,
        ledgerKey: key,
      });
      await pool.start(CONSUMERS);
      const transport = new RedisStreamsTransport({ connection: { url: server.url }, logger: silentLogger });
      broker = new Broker({ transport, logger: silentLogger });
      ledger = new Redis(server.url);

      const load = new SteadyPublisher(broker, subject, RATE_PER_SECOND);
      load.start();
      const endAt = Date.now() + RUN_MS;
      const hardEndAt = Date.now() + 3 * RUN_MS;
      while ((Date.now() < endAt || pool.kills < MIN_KILLS) && Date.now() < hardEndAt) {
        await pace(KILL_EVERY_MS);
        await pool.killOne();
      }
      await load.stop();
      await pool.ready();

      const l = ledger;
      const settle = await until(
        async () => tally(load.acknowledged, await readLedger(l, key)).lost === 0,
        30_000,
        'every acknowledged publish to be handled',
      ).catch((error: unknown) => error);
      const result = tally(load.acknowledged, await readLedger(l, key));
      const deadLettered = (await transport.deadLetters(subject, { limit: 1_000 })).length;
      console.info(
        summaryLine('consumer-crash', result, {
          kills: pool.kills,
          consumers: CONSUMERS,
          publishFailures: load.failures.length,
          deadLettered,
        }),
      );
      expect(result.lost, `lost ids: ${result.lostIds.join(', ')}; ${String(settle ?? '')}`).toBe(0);
      expect(pool.kills).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(result.published).toBeGreaterThan((RUN_MS / 1_000) * RATE_PER_SECOND * 0.5);
      expect(load.failures).toEqual([]);
      expect(deadLettered).toBe(0);
    },
    3 * RUN_MS + 90_000,
  );
});
