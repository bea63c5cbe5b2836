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

  it('redelivers a nacked keyed message in place, before the later messages of its key', async () => {
    const t = ordered(1);
    const subject = randomSubject('inplace');
    const seen: string[] = [];
    const subscription = await t.subscribe(subject, { group: 'g', prefetch: 8 });
    void (async () => {
      for await (const d of subscription as AsyncIterable<RawDelivery>) {
        const text = new TextDecoder().decode(d.payload);
        seen.push(`${text}#${d.deliveryCount}`);
        if (text === 'k:0' && d.deliveryCount < 3) await d.nack();
        else await d.ack();
      }
    })();
    for (let seq = 0; seq < 3; seq++) {
      await t.publisher().publish(subject, { payload: new TextEncoder().encode(`k:${seq}`), key: 'k' });
    }
    await until(() => seen.length === 5);
    expect(seen).toEqual(['k:0#1', 'k:0#2', 'k:0#3', 'k:1#1', 'k:2#1']);
    await subscription.close();
  });

  it('splits the partitions fairly between the live members of a group', async () => {
    const t = ordered(4);
    const subject = randomSubject('fair');
    const first = await t.subscribe(subject, { group: 'g' });
    const leaseKeys = t.streamKeys(subject).map((keys) => `${keys.stream}:lease:g`);
    const holders = async () => Promise.all(leaseKeys.map((key) => t.client().get(key)));
    await until(async () => new Set(await holders()).size === 1 && !(await holders()).includes(null));
    const second = await t.subscribe(subject, { group: 'g' });
    await until(
      async () => {
        const now = await holders();
        const counts = new Map<string | null, number>();
        for (const holder of now) counts.set(holder, (counts.get(holder) ?? 0) + 1);
        return counts.size === 2 && !counts.has(null) && [...counts.values()].every((n) => n === 2);
      },
      10_000,
      'each of two members holds two of four partitions',
    );
    await second.close();
    await until(
      async () => new Set(await holders()).size === 1 && !(await holders()).includes(null),
      10_000,
      'the remaining member takes all partitions back',
    );
    await first.close();
  });
});
