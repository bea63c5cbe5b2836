import { silentLogger } from '@relaybus/core';
import {
  hashSlot,
  loadScript,
  type RedisConnectionOptions,
  RedisConnector,
  resolveRedisOptions,
  runScript,
} from '@relaybus/redis';
import { type RedisCluster, randomSubject, startRedisCluster, until } from '@relaybus/testing';
import { Cluster, Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The cluster requires a password, which the last test rotates.
let password = 'cluster-pw-1';
let cluster: RedisCluster;
const connectors: RedisConnector[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster({ password });
});
afterAll(async () => {
  await Promise.all(connectors.map((c) => c.close()));
  await cluster?.stop();
});

function connector(options: RedisConnectionOptions = { password }): RedisConnector {
  const nodes = cluster.nodes.map(({ host, port }) => `${host}:${port}`);
  const made = new RedisConnector(resolveRedisOptions({ cluster: { nodes }, ...options }), silentLogger);
  connectors.push(made);
  return made;
}

async function onNode<T>(index: number, run: (client: Redis) => Promise<T>): Promise<T> {
  const node = cluster.nodes[index]!;
  const client = new Redis({ host: node.host, port: node.port, password, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    return await run(client);
  } finally {
    client.disconnect();
  }
}

describe('RedisConnector on a Cluster', () => {
  it('makes iovalkey Cluster clients that write keys on every node', async () => {
    const made = connector();
    expect(made.isCluster).toBe(true);
    const client = made.client('publisher');
    expect(client).toBeInstanceOf(Cluster);
    const subjects = Array.from({ length: 30 }, () => randomSubject('orders'));
    for (const subject of subjects) await client.set(made.keys.stream(subject), subject);
    const counts = await Promise.all([0, 1, 2].map((i) => onNode(i, (c) => c.dbsize())));
    for (const count of counts) expect(count).toBeGreaterThan(0);
    await until(() => made.health().status === 'ready');
  });

  it('connects with the credentials carried by seed node urls', async () => {
    const made = new RedisConnector(resolveRedisOptions({ cluster: { nodes: cluster.urls } }), silentLogger);
    connectors.push(made);
    const key = made.keys.stream(randomSubject('url'));
    await made.client('publisher').set(key, '1');
    expect(await made.client('publisher').get(key)).toBe('1');
  });

  it('agrees with CLUSTER KEYSLOT on every key it builds', async () => {
    const made = connector();
    const keys = Array.from({ length: 50 }, (_, i) => {
      const subject = randomSubject(`s${i}`);
      return [
        made.keys.stream(subject),
        made.keys.side(subject, 'dlq'),
        made.keys.partition(subject, i),
        `plain-${i}`,
      ];
    }).flat();
    const slots = await onNode(0, (c) => Promise.all(keys.map((key) => c.cluster('KEYSLOT', key))));
    expect(slots).toEqual(keys.map((key) => hashSlot(key)));
  });

  it('runs a script over a subject and its side keys in one slot, surviving SCRIPT FLUSH', async () => {
    const made = connector();
    const client = made.client('scripts');
    const move = loadScript(
      'move-one',
      2,
      "local v = redis.call('LPOP', KEYS[1]); if v then redis.call('RPUSH', KEYS[2], v) end; return v",
    );
    const subject = randomSubject('jobs');
    const queue = made.keys.stream(subject);
    const processing = made.keys.side(subject, 'processing');
    await client.rpush(queue, 'a', 'b');
    expect(await runScript(client, move, [queue, processing], [])).toBe('a');
    await Promise.all([0, 1, 2].map((i) => onNode(i, (c) => c.script('FLUSH'))));
    expect(await runScript(client, move, [queue, processing], [])).toBe('b');
    expect(await client.lrange(processing, 0, -1)).toEqual(['a', 'b']);
  });

  it('refuses a script whose keys span slots before sending it', async () => {
    const made = connector();
    const script = loadScript('two', 2, 'return 1');
    await expect(runScript(made.client('scripts'), script, ['{a}x', '{b}y'], [])).rejects.toThrow(
      /one Cluster slot/,
    );
  });

  it('asks the credentials provider again when the cluster connection is lost', async () => {
    let calls = 0;
    const made = connector({
      credentials: async () => {
        calls++;
        return { password };
      },
    });
    const seen: string[] = [];
    made.on('status', (status) => seen.push(status));
    const client = made.client('publisher');
    const key = made.keys.stream(randomSubject('rotate'));
    await client.set(key, '1');
    expect(calls).toBe(1);

    // Rotate the password on every node, then drop every client connection.
    const next = 'cluster-pw-2';
    await Promise.all(
      [0, 1, 2].map((i) =>
        onNode(i, async (c) => {
          await c.config('SET', 'requirepass', next);
          await c.config('SET', 'masterauth', next);
        }),
      ),
    );
    password = next;
    await Promise.all([0, 1, 2].map((i) => onNode(i, (c) => c.call('CLIENT', 'KILL', 'TYPE', 'normal'))));

    await until(
      async () => (await client.get(key).catch(() => null)) === '1',
      15_000,
      'a read after the rotation',
    );
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(seen).toContain('ready');
  });
});
