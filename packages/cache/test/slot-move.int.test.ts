import { silentLogger } from '@relaybus/core';
import { hashSlot } from '@relaybus/redis';
import { type RedisCluster, randomSubject, startRedisCluster, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cache, cacheKeyNames, createCache } from '../src/index.js';

let cluster: RedisCluster;
const caches: Cache<unknown>[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(caches.map((cache) => cache.close()));
  await cluster?.stop();
});

/** Runs one command on node `index` over a short-lived connection. */
async function onNode(index: number, ...args: Array<string | number>): Promise<unknown> {
  const node = cluster.nodes[index]!;
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true });
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

async function ownerIndex(slot: number): Promise<number> {
  const ranges = (await onNode(0, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
  const range = ranges.find(([start, end]) => slot >= start && slot <= end)!;
  return cluster.nodes.findIndex((node) => node.port === range[2][1]);
}

async function shardSubscribers(index: number, channel: string): Promise<number> {
  const reply = (await onNode(index, 'PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

describe('a Cluster slot that moves', () => {
  it('moves the waiters subscription to the new owner, and the wait still resolves', async () => {
    const name = randomSubject('moving');
    const names = cacheKeyNames('relaybus:', name, 'k');
    const slot = hashSlot(names.value);
    const from = await ownerIndex(slot);
    const to = (from + 1) % cluster.nodes.length;
    const redis = { cluster: { nodes: cluster.urls } };
    const reader = createCache<string>({ redis, name, logger: silentLogger });
    const writer = createCache<string>({ redis, name, logger: silentLogger });
    caches.push(reader, writer);

    const waiting = reader.wait('k', { timeoutMs: 30_000 });
    await until(async () => (await shardSubscribers(from, names.channel)) === 1, 10_000);

    const fromId = String(await onNode(from, 'CLUSTER', 'MYID'));
    const toId = String(await onNode(to, 'CLUSTER', 'MYID'));
    await onNode(to, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
    await onNode(from, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
    // The slot holds no key (nothing was written yet): hand it over.
    for (const index of [to, from, ...cluster.nodes.keys()]) {
      await onNode(index, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    }
    await until(async () => (await shardSubscribers(to, names.channel)) === 1, 20_000, 'the move');
    expect(await shardSubscribers(from, names.channel)).toBe(0);

    await writer.set('k', 'after the move');
    expect(await waiting).toBe('after the move');
    expect(await reader.get('k')).toBe('after the move');
  });
});
