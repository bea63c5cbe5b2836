import { Cluster, Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedRedisCluster, splitSlots, startEmbeddedRedisCluster } from '../src/cluster.js';
import { keySlot } from '../src/crc16.js';
import { RespConnection } from './differential/resp-client.js';

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The index of the node serving `key`'s slot. */
function ownerOf(cluster: EmbeddedRedisCluster, key: string): number {
  const slot = keySlot(key);
  return cluster.nodes.findIndex((node) => slot >= node.slots[0] && slot <= node.slots[1]);
}

describe('splitSlots', () => {
  it('splits the slots as redis-cli --cluster create does', () => {
    expect(splitSlots(3)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ]);
    expect(splitSlots(1)).toEqual([[0, 16383]]);
    for (const count of [2, 4, 5, 7]) {
      const ranges = splitSlots(count);
      expect(ranges[0]?.[0]).toBe(0);
      expect(ranges.at(-1)?.[1]).toBe(16383);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.[0]).toBe((ranges[i - 1]?.[1] ?? 0) + 1);
    }
  });

  it('rejects a bad nodes option naming it', async () => {
    await expect(startEmbeddedRedisCluster({ nodes: 0 })).rejects.toThrow(/option "nodes"/);
  });
});

describe('startEmbeddedRedisCluster', () => {
  let cluster: EmbeddedRedisCluster;
  let client: Cluster;
  const raw: RespConnection[] = [];

  beforeAll(async () => {
    cluster = await startEmbeddedRedisCluster({ nodes: 3 });
    client = new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })));
    for (const node of cluster.nodes) raw.push(await RespConnection.connect(node.port, node.host));
  });

  afterAll(async () => {
    for (const connection of raw) connection.close();
    await client?.quit();
    await cluster?.close();
  });

  it('serves iovalkey Cluster: every key lands on the node owning its slot', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `key:${i}`);
    await Promise.all(keys.map((key, i) => client.set(key, String(i))));
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys.map((_, i) => String(i)));
    for (const key of keys) {
      const owner = ownerOf(cluster, key);
      cluster.nodes.forEach((node, index) => {
        expect(node.server.database(0).get(key) !== undefined, `${key} on node ${index}`).toBe(
          index === owner,
        );
      });
    }
    // Multi-key commands within one hash tag work through the Cluster client.
    await client.mset('{user1}:a', '1', '{user1}:b', '2');
    expect(await client.mget('{user1}:a', '{user1}:b')).toEqual(['1', '2']);
  });

  it('routes scripts, streams with consumer groups and blocking reads through the Cluster client', async () => {
    const stream = '{orders}:stream';
    expect(await client.eval("return redis.call('INCR', KEYS[1])", 1, '{orders}:n')).toBe(1);
    await client.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM');
    const reader = client.duplicate();
    try {
      const pending = reader.xreadgroup('GROUP', 'workers', 'w1', 'BLOCK', 5_000, 'STREAMS', stream, '>');
      // Wait until the read is parked on the owner, then an XADD from another connection wakes it.
      const owner = raw[ownerOf(cluster, stream)] as RespConnection;
      await until(async () =>
        /blocked_clients:1\r\n/.test((await owner.call(['INFO', 'clients'])).text ?? ''),
      );
      await client.xadd(stream, '1-1', 'id', '42');
      const reply = (await pending) as Array<[string, Array<[string, string[]]>]>;
      expect(reply[0]?.[0]).toBe(stream);
      expect(reply[0]?.[1]).toEqual([['1-1', ['id', '42']]]);
      expect(await client.xack(stream, 'workers', '1-1')).toBe(1);
    } finally {
      reader.disconnect();
    }
  });

  it('redirects a key of another node with MOVED and rejects keys across slots with CROSSSLOT', async () => {
    const key = Array.from({ length: 50 }, (_, i) => `k${i}`).find(
      (k) => ownerOf(cluster, k) === 1,
    ) as string;
    const reply = await (raw[0] as RespConnection).call(['SET', key, 'v']);
    const owner = cluster.nodes[1];
    expect(reply.raw.toString()).toBe(`-MOVED ${keySlot(key)} ${owner?.host}:${owner?.port}\r\n`);
    const cross = await (raw[0] as RespConnection).call(['MSET', '{a}x', '1', '{b}y', '2']);
    expect(cross.raw.toString()).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect((await (raw[0] as RespConnection).call(['READONLY'])).raw.toString()).toBe('+OK\r\n');
    expect((await (raw[0] as RespConnection).call(['ASKING'])).raw.toString()).toBe('+OK\r\n');
  });

  it('describes the topology with CLUSTER SLOTS, SHARDS, NODES, INFO and MYID', async () => {
    const connection = new Redis({ host: cluster.nodes[0]?.host, port: cluster.nodes[0]?.port });
    try {
      const slots = (await connection.cluster('SLOTS')) as unknown[][];
      expect(slots.map((entry) => entry.slice(0, 2))).toEqual(cluster.nodes.map((node) => [...node.slots]));
      expect(slots.map((entry) => (entry[2] as unknown[]).slice(0, 3))).toEqual(
        cluster.nodes.map((node) => [node.host, node.port, node.id]),
      );
      const info = (await connection.cluster('INFO')) as string;
      expect(info).toContain('cluster_state:ok\r\n');
      expect(info).toContain('cluster_known_nodes:3\r\n');
      expect(await connection.cluster('MYID')).toBe(cluster.nodes[0]?.id);
      const nodesText = (await connection.cluster('NODES')) as string;
      const lines = nodesText.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(
        new RegExp(
          `^${cluster.nodes[0]?.id} 127\\.0\\.0\\.1:${cluster.nodes[0]?.port}@\\d+ myself,master - 0 0 1 connected 0-5460$`,
        ),
      );
      const shards = (await connection.call('CLUSTER', 'SHARDS')) as unknown[][];
      expect(shards).toHaveLength(3);
      expect(shards[1]?.slice(0, 2)).toEqual(['slots', [5461, 10922]]);
      expect(await connection.cluster('KEYSLOT', 'foo')).toBe(12182);
      const tag = Array.from({ length: 50 }, (_, i) => `t${i}`).find(
        (t) => ownerOf(cluster, t) === 0,
      ) as string;
      await connection.set(`{${tag}}a`, '1');
      await connection.set(`{${tag}}b`, '2');
      const slot = keySlot(tag);
      expect(await connection.cluster('COUNTKEYSINSLOT', slot)).toBe(2);
      expect(((await connection.cluster('GETKEYSINSLOT', slot, 10)) as string[]).sort()).toEqual([
        `{${tag}}a`,
        `{${tag}}b`,
      ]);
      expect(await connection.cluster('GETKEYSINSLOT', slot, 1)).toHaveLength(1);
    } finally {
      connection.disconnect();
    }
  });

  it('serves sharded Pub/Sub on the node owning the channel', async () => {
    const channel = 'orders';
    const ownerIndex = ownerOf(cluster, channel);
    const owner = cluster.nodes[ownerIndex];
    const other = cluster.nodes[(ownerIndex + 1) % 3];
    const wrong = await RespConnection.connect(other?.port as number);
    try {
      const refused = await wrong.call(['SSUBSCRIBE', channel]);
      expect(refused.raw.toString()).toBe(`-MOVED ${keySlot(channel)} ${owner?.host}:${owner?.port}\r\n`);
    } finally {
      wrong.close();
    }
    const subscriber = new Redis({ host: owner?.host, port: owner?.port });
    const received: string[] = [];
    subscriber.on('smessage', (_channel: string, message: string) => received.push(message));
    try {
      await subscriber.ssubscribe(channel);
      expect(await client.spublish(channel, 'o1')).toBe(1);
      await until(() => received.length === 1);
      expect(received).toEqual(['o1']);
    } finally {
      subscriber.disconnect();
    }
  });

  it('stops a node on SHUTDOWN; startNode brings it back', async () => {
    const connection = await RespConnection.connect(cluster.nodes[1]?.port as number);
    connection.write(['SHUTDOWN', 'NOSAVE']);
    await until(() => connection.closed);
    await expect(RespConnection.connect(cluster.nodes[1]?.port as number)).rejects.toThrow();
    await cluster.startNode(1);
    const again = await RespConnection.connect(cluster.nodes[1]?.port as number);
    try {
      expect((await again.call(['CLUSTER', 'MYID'])).text).toBe(cluster.nodes[1]?.id);
    } finally {
      again.close();
    }
  });

  it('keeps a stopped node data and serves it again after startNode', async () => {
    const key = Array.from({ length: 50 }, (_, i) => `s${i}`).find(
      (k) => ownerOf(cluster, k) === 2,
    ) as string;
    await client.set(key, 'kept');
    await cluster.stopNode(2);
    await expect(RespConnection.connect(cluster.nodes[2]?.port as number)).rejects.toThrow();
    await cluster.startNode(2);
    const connection = await RespConnection.connect(cluster.nodes[2]?.port as number);
    try {
      expect((await connection.call(['GET', key])).raw.toString()).toBe('$4\r\nkept\r\n');
    } finally {
      connection.close();
    }
  });
});

describe('startEmbeddedRedisCluster with a password', () => {
  it('requires AUTH on every node and puts the password in urls', async () => {
    const cluster = await startEmbeddedRedisCluster({ nodes: 3, password: 's3cret' });
    try {
      expect(cluster.urls.every((url) => url.startsWith('redis://:s3cret@127.0.0.1:'))).toBe(true);
      const connection = await RespConnection.connect(cluster.nodes[0]?.port as number);
      try {
        expect((await connection.call(['CLUSTER', 'INFO'])).raw.toString()).toMatch(/^-NOAUTH/);
      } finally {
        connection.close();
      }
      const client = new Cluster(
        cluster.nodes.map(({ host, port }) => ({ host, port })),
        { redisOptions: { password: 's3cret' } },
      );
      try {
        await client.set('a', '1');
        await client.set('b', '2');
        expect(await client.get('a')).toBe('1');
      } finally {
        await client.quit();
      }
    } finally {
      await cluster.close();
    }
  });
});

describe('startEmbeddedRedisCluster: classic PUBLISH and CLUSTER SETSLOT', () => {
  let cluster: EmbeddedRedisCluster;
  const raw: RespConnection[] = [];

  beforeAll(async () => {
    cluster = await startEmbeddedRedisCluster({ nodes: 3 });
    for (const node of cluster.nodes) raw.push(await RespConnection.connect(node.port, node.host));
  });

  afterAll(async () => {
    for (const connection of raw) connection.close();
    await cluster?.close();
  });

  const on = (index: number, args: Array<string | number>) =>
    (raw[index] as RespConnection).call(args.map(String));

  it('delivers a classic PUBLISH to the subscribers of every node, replying with this node', async () => {
    const subscribers = await Promise.all(cluster.nodes.map((node) => RespConnection.connect(node.port)));
    try {
      for (const subscriber of subscribers) {
        expect((await subscriber.call(['SUBSCRIBE', 'news'])).items[0]?.text).toBe('subscribe');
      }
      expect((await on(1, ['PUBLISH', 'news', 'hello'])).text).toBe('1');
      for (const subscriber of subscribers) {
        const message = await subscriber.read();
        expect(message.items.map((item) => item.text)).toEqual(['message', 'news', 'hello']);
      }
    } finally {
      for (const subscriber of subscribers) subscriber.close();
    }
  });

  it('answers CLUSTER SETSLOT errors with the words of Redis', async () => {
    const [first, , third] = cluster.nodes;
    const slot = first?.slots[0] as number;
    expect((await on(0, ['CLUSTER', 'SETSLOT', 16384, 'STABLE'])).raw.toString()).toBe(
      '-ERR Invalid or out of range slot\r\n',
    );
    expect((await on(0, ['CLUSTER', 'SETSLOT', slot, 'NODE', 'nobody'])).raw.toString()).toBe(
      '-ERR Unknown node nobody\r\n',
    );
    expect((await on(0, ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', third?.id as string])).text).toBe(
      `ERR I'm already the owner of hash slot ${slot}`,
    );
    expect((await on(2, ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', first?.id as string])).text).toBe(
      `ERR I'm not the owner of hash slot ${slot}`,
    );
    expect((await on(0, ['CLUSTER', 'SETSLOT', slot, 'FLY'])).text).toBe(
      'ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP',
    );
    const key = Array.from({ length: 200 }, (_, i) => `held${i}`).find((k) => ownerOf(cluster, k) === 0);
    await on(0, ['SET', key as string, 'v']);
    expect(
      (await on(0, ['CLUSTER', 'SETSLOT', keySlot(key as string), 'NODE', third?.id as string])).text,
    ).toBe(
      `ERR Can't assign hashslot ${keySlot(key as string)} to a different node while I still hold keys for this hash slot.`,
    );
  });

  it('moves a slot with SETSLOT NODE: MOVED follows it and its shard subscribers are told to leave', async () => {
    const [from, to] = cluster.nodes;
    const channel = Array.from({ length: 200 }, (_, i) => `moving${i}`).find(
      (c) => ownerOf(cluster, c) === 0,
    );
    const slot = keySlot(channel as string);
    const subscriber = await RespConnection.connect(from?.port as number);
    try {
      expect((await subscriber.call(['SSUBSCRIBE', channel as string])).items[0]?.text).toBe('ssubscribe');
      expect((await on(1, ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', from?.id as string])).text).toBe('OK');
      expect((await on(0, ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', to?.id as string])).text).toBe('OK');
      expect((await on(0, ['CLUSTER', 'NODES'])).text).toContain(`[${slot}->-${to?.id}]`);
      expect((await on(1, ['CLUSTER', 'NODES'])).text).toContain(`[${slot}-<-${from?.id}]`);
      expect((await on(1, ['CLUSTER', 'SETSLOT', slot, 'NODE', to?.id as string])).text).toBe('OK');

      const left = await subscriber.read();
      expect(left.items.map((item) => item.text)).toEqual(['sunsubscribe', channel, '0']);
      expect((await on(0, ['SET', channel as string, 'v'])).raw.toString()).toBe(
        `-MOVED ${slot} ${to?.host}:${to?.port}\r\n`,
      );
      expect((await on(1, ['SET', channel as string, 'v'])).text).toBe('OK');
      expect((await on(1, ['CLUSTER', 'NODES'])).text).not.toContain(`[${slot}-<-`);
      const slots = (await on(2, ['CLUSTER', 'SLOTS'])).items.map((range) => [
        Number(range.items[0]?.text),
        Number(range.items[1]?.text),
        Number(range.items[2]?.items[1]?.text),
      ]);
      expect(slots).toContainEqual([slot, slot, to?.port]);
      expect((await on(2, ['CLUSTER', 'INFO'])).text).toContain('cluster_state:ok\r\n');
      // The new owner ended an import: its config epoch is now the highest.
      const epochs = ((await on(2, ['CLUSTER', 'NODES'])).text ?? '')
        .trim()
        .split('\n')
        .map((line) => Number(line.split(' ')[6]));
      expect(Math.max(...epochs)).toBe(epochs[1]);
    } finally {
      subscriber.close();
    }
  });
});
