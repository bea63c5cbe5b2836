import { setTimeout as delay } from 'node:timers/promises';
import { type RawDelivery, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';

let server: RedisServer;
const transports: RedisStreamsTransport[] = [];

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await Promise.all(transports.map((made) => made.close()));
  await server?.stop();
});

function ordered(partitions: number): RedisStreamsTransport {
  const made = new RedisStreamsTransport({
    connection: { url: server.url },
    minIdleMs: 500,
    leaseMs: 600,
    blockMs: 500,
    defaults: { ordered: true, partitions },
    logger: silentLogger,
  });
  transports.push(made);
  return made;
}

const KEYS = ['alpha', 'beta', 'gamma', 'delta'];

describe('ordered mode', () => {
  it.each([1, 4])(
    'keeps per-key order with 3 competing consumers over %i partition(s)',
    async (partitions) => {
      const t = ordered(partitions);
      const subject = randomSubject('ordered');
      const processed: Array<{ key: string; seq: number; consumer: number }> = [];
      const subscriptions = [];
      for (let c = 0; c < 3; c++) {
        const subscription = await t.subscribe(subject, { group: 'g', prefetch: 8 });
        subscriptions.push(subscription);
        void (async () => {
          for await (const d of subscription as AsyncIterable<RawDelivery>) {
            await delay(Math.floor(Math.random() * 4));
            const [key, seq] = new TextDecoder().decode(d.payload).split(':');
            processed.push({ key: key as string, seq: Number(seq), consumer: c });
            await d.ack();
          }
        })();
      }
      const perKey = 40;
      for (let seq = 0; seq < perKey; seq++) {
        for (const key of KEYS) {
          await t.publisher().publish(subject, { payload: new TextEncoder().encode(`${key}:${seq}`), key });
        }
      }
      await until(() => processed.length >= perKey * KEYS.length, 10_000);
      for (const key of KEYS) {
        expect(processed.filter((p) => p.key === key).map((p) => p.seq)).toEqual(
          Array.from({ length: perKey }, (_, i) => i),
        );
      }
      await Promise.all(subscriptions.map((s) => s.close()));
    },
  );
});
