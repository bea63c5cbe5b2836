import { type RawDelivery, type Subscription, silentLogger } from '@relaybus/core';
import { hashSlot } from '@relaybus/redis';
import { type RedisCluster, randomSubject, startRedisCluster, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport, StreamsInspector } from '../src/index.js';

const PARTITIONS = 6;
let cluster: RedisCluster;
const transports: RedisStreamsTransport[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  await Promise.all(transports.map((made) => made.close()));
  await cluster?.stop();
});

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function consume(subscription: Subscription, received: Array<{ key: string; seq: number; id: string }>) {
  void (async () => {
    for await (const delivery of subscription as AsyncIterable<RawDelivery>) {
      const [key, seq] = new TextDecoder().decode(delivery.payload).split(':');
      received.push({ key: key as string, seq: Number(seq), id: delivery.id });
      await delivery.ack();
    }
  })();
}

/** Which node (by its `host:port`) serves each slot, from CLUSTER SLOTS. */
async function slotOwners(t: RedisStreamsTransport): Promise<(slot: number) => string> {
  const ranges = (await t.client().cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>;
  return (slot) => {
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    return range ? `${range[2][0]}:${range[2][1]}` : 'none';
  };
}

describe('partitions on a Redis Cluster', () => {
  it.each([false, true])(
    'delivers everything of a subject whose partitions span all three nodes (ordered: %s)',
    async (ordered) => {
      // Find a subject whose partition streams land on every node.
      let subject = '';
      let nodesUsed = 0;
      const probe = new RedisStreamsTransport({
        connection: { cluster: { nodes: cluster.urls } },
        logger: silentLogger,
      });
      transports.push(probe);
      const ownerOf = await slotOwners(probe);
      for (let attempt = 0; attempt < 100 && nodesUsed < 3; attempt++) {
        subject = randomSubject('spread');
        const keys = Array.from({ length: PARTITIONS }, (_, i) => probe.connector.keys.partition(subject, i));
        nodesUsed = new Set(keys.map((key) => ownerOf(hashSlot(key)))).size;
      }
      expect(nodesUsed).toBe(3);

      const t = new RedisStreamsTransport({
        connection: { cluster: { nodes: cluster.urls } },
        minIdleMs: 500,
        leaseMs: 600,
        subjects: { [subject]: { partitions: PARTITIONS, ordered } },
        logger: silentLogger,
      });
      transports.push(t);
      const received: Array<{ key: string; seq: number; id: string }> = [];
      for (let c = 0; c < 2; c++) consume(await t.subscribe(subject, { group: 'g', prefetch: 12 }), received);
      const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
      const perKey = 25;
      const ids: string[] = [];
      for (let seq = 0; seq < perKey; seq++) {
        const results = await t.publisher().publishMany(
          subject,
          keys.map((key) => ({ payload: utf8(`${key}:${seq}`), key })),
        );
        ids.push(...results.map((result) => result.id));
      }
      await until(
        () => new Set(received.map((r) => r.id)).size === ids.length,
        20_000,
        'every message arrives',
      );
      expect(received).toHaveLength(ids.length);
      if (ordered) {
        for (const key of keys) {
          expect(received.filter((r) => r.key === key).map((r) => r.seq)).toEqual(
            Array.from({ length: perKey }, (_, i) => i),
          );
        }
      }
      const info = await new StreamsInspector(t).subject(subject);
      expect(info.partitions).toBe(PARTITIONS);
      expect(info.length).toBe(ids.length);
      await until(async () => (await new StreamsInspector(t).pending(subject, 'g')) === 0);
      const history = await t.history(subject, { limit: 5 });
      expect(history).toHaveLength(5);
    },
  );
});
