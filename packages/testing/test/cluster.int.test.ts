import { type RedisCluster, startRedisCluster } from '@relaybus/testing';
import { Cluster, Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

async function nodeCommand(index: number, ...args: string[]): Promise<unknown> {
  const node = cluster.nodes[index]!;
  const client = new Redis({ host: node.host, port: node.port, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

describe('startRedisCluster', () => {
  it('starts 3 primaries that all report cluster_state:ok', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.urls).toEqual(cluster.nodes.map((n) => `redis://${n.host}:${n.port}`));
    for (let i = 0; i < 3; i++) {
      const info = String(await nodeCommand(i, 'CLUSTER', 'INFO'));
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_known_nodes:3');
      expect(info).toContain('cluster_slots_assigned:16384');
    }
  });

  it('serves an iovalkey Cluster client that writes keys onto every node', async () => {
    const client = new Cluster(cluster.nodes.map((n) => ({ ...n })));
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `harness-key-${i}`);
      for (const key of keys) await client.set(key, key);
      for (const key of keys) expect(await client.get(key)).toBe(key);
      const sizes = await Promise.all([0, 1, 2].map((i) => nodeCommand(i, 'DBSIZE')));
      for (const size of sizes) expect(Number(size)).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
  });

  it('stops and restarts one node, which rejoins with its data', async () => {
    const client = new Cluster(cluster.nodes.map((n) => ({ ...n })));
    client.on('error', () => {});
    try {
      await client.set('harness-restart-a', '1');
      await cluster.stopNode(2);
      await expect(nodeCommand(2, 'PING')).rejects.toThrow();
      await cluster.startNode(2);
      const info = String(await nodeCommand(2, 'CLUSTER', 'INFO'));
      expect(info).toContain('cluster_state:ok');
      expect(await client.get('harness-restart-a')).toBe('1');
    } finally {
      client.disconnect();
    }
  });

  it('rejects fewer than 3 primaries and unknown node indexes', async () => {
    await expect(startRedisCluster({ primaries: 2 })).rejects.toThrow(/primaries must be an integer >= 3/);
    await expect(cluster.stopNode(7)).rejects.toThrow(/out of range/);
  });
});
