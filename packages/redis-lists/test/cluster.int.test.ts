import { describeTransport } from '@relaybus/conformance';
import { type RawDelivery, silentLogger } from '@relaybus/core';
import { hashSlot } from '@relaybus/redis';
import { type RedisCluster, randomSubject, startRedisCluster, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listsCapabilities, RedisListsTransport } from '../src/index.js';

let cluster: RedisCluster | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

function nodes(): string[] {
  if (cluster === undefined) throw new Error('the cluster is not started yet');
  return cluster.nodes.map(({ host, port }) => `${host}:${port}`);
}

function transport(): RedisListsTransport {
  return new RedisListsTransport({
    connection: { cluster: { nodes: nodes() } },
    heartbeatTtlMs: 600,
    blockMs: 1_000,
    delayedPollMs: 100,
    logger: silentLogger,
  });
}

describeTransport('redis-lists reliable (3-node Cluster)', transport, {
  redeliveryIdleMs: 600,
  capabilities: listsCapabilities('reliable'),
});

/** Which node (index into cluster.nodes) serves each slot, from CLUSTER SLOTS. */
async function slotOwners(): Promise<(slot: number) => number> {
  const { host, port } = cluster!.nodes[0]!;
  const client = new Redis({ host, port, retryStrategy: () => null });
  try {
    const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const ports = cluster!.nodes.map((node) => node.port);
    return (slot) => {
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      return ports.indexOf(Number(range?.[2][1]));
    };
  } finally {
    client.disconnect();
  }
}

describe('redis-lists on a Cluster', () => {
  it('spreads queues over the nodes: each queue lives on the node owning its subject slot, and all deliver', async () => {
    const ownerOf = await slotOwners();
    const subjects: string[] = [];
    const covered = new Set<number>();
    while (covered.size < cluster!.nodes.length) {
      const subject = randomSubject('spread');
      const owner = ownerOf(hashSlot(subject));
      if (covered.has(owner)) continue;
      covered.add(owner);
      subjects.push(subject);
    }
    const lists = transport();
    try {
      const publisher = lists.publisher();
      for (const subject of subjects) await publisher.publish(subject, { payload: Buffer.from(subject) });
      for (const subject of subjects) {
        const { host, port } = cluster!.nodes[ownerOf(hashSlot(subject))]!;
        const node = new Redis({ host, port, retryStrategy: () => null });
        try {
          // A plain (non-cluster) connection: the key must be on this very node.
          expect(await node.llen(lists.keys(subject).queue), `queue of ${subject} on node ${port}`).toBe(1);
        } finally {
          node.disconnect();
        }
      }
      const received: string[] = [];
      for (const subject of subjects) {
        const subscription = await lists.subscribe(subject);
        void (async () => {
          for await (const delivery of subscription) {
            received.push(Buffer.from(delivery.payload).toString());
            await (delivery as RawDelivery).ack();
          }
        })();
      }
      await until(() => received.length === subjects.length, 10_000, 'every queue delivers its message');
      expect(received.sort()).toEqual([...subjects].sort());
    } finally {
      await lists.close();
    }
  });
});
