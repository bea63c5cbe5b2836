import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realRedisSuite, startRedisCluster } from '../../testing/dist/index.js';
import { type EmbeddedRedisCluster, startEmbeddedRedisCluster } from '../src/cluster.js';
import { compareReplies } from './differential/harness.js';
import { RespConnection, type RespNode } from './differential/resp-client.js';

type RealCluster = Awaited<ReturnType<typeof startRedisCluster>>;

/** Field names of a CLUSTER INFO text. */
function infoFields(node: RespNode): string[] {
  return (node.text ?? '')
    .replace(/^txt:/, '')
    .split('\r\n')
    .filter(Boolean)
    .map((line) => line.split(':')[0] as string)
    .filter((name) => !name.startsWith('cluster_stats_'));
}

const suite = realRedisSuite(
  'CLUSTER replies have the shapes of a real 3-node redis-server Cluster',
  'the reference replies of a redis-server Cluster',
  { cluster: true },
);

describe.skipIf(suite.skip)(suite.title, () => {
  let real: RealCluster;
  let embedded: EmbeddedRedisCluster;
  const connections: RespConnection[] = [];

  beforeAll(async () => {
    [real, embedded] = await Promise.all([
      startRedisCluster({ primaries: 3, server: 'real' }),
      startEmbeddedRedisCluster({ nodes: 3 }),
    ]);
    connections.push(await RespConnection.connect(real.nodes[0]?.port as number));
    connections.push(await RespConnection.connect(embedded.nodes[0]?.port as number));
  });

  afterAll(async () => {
    for (const connection of connections) connection.close();
    await Promise.all([real?.stop(), embedded?.close()]);
  });

  async function both(args: string[]): Promise<[RespNode, RespNode]> {
    const [a, b] = connections as [RespConnection, RespConnection];
    return [await a.call(args), await b.call(args)];
  }

  for (const protocol of ['2', '3']) {
    it(`agrees in RESP${protocol}`, async () => {
      await both(['HELLO', protocol]);
      for (const sub of ['SLOTS', 'SHARDS', 'MYID', 'NODES']) {
        const [a, b] = await both(['CLUSTER', sub]);
        expect(compareReplies(a, b, 'shape'), `CLUSTER ${sub}`).toBeUndefined();
      }
      const [slotsA, slotsB] = await both(['CLUSTER', 'SLOTS']);
      // Same slot ranges in the same order (redis-cli splits them as the embedded Cluster does).
      const ranges = (node: RespNode) =>
        node.items.map((range) => `${range.items[0]?.text}-${range.items[1]?.text}`);
      expect(ranges(slotsB)).toEqual(ranges(slotsA));
      const [infoA, infoB] = await both(['CLUSTER', 'INFO']);
      expect(infoB.type).toBe(infoA.type);
      expect(infoFields(infoB)).toEqual(infoFields(infoA));
      for (const args of [
        ['CLUSTER', 'KEYSLOT', '{user}:1'],
        ['CLUSTER', 'KEYSLOT'],
        ['CLUSTER', 'COUNTKEYSINSLOT', '99999'],
        ['CLUSTER', 'COUNTKEYSINSLOT', 'x'],
        ['CLUSTER', 'GETKEYSINSLOT', '1', '-1'],
        ['CLUSTER', 'GETKEYSINSLOT', '0', '10'],
        ['CLUSTER', 'NOSUCH'],
        ['MSET', '{a}x', '1', '{b}y', '2'],
        ['READONLY'],
        ['READWRITE'],
        ['ASKING'],
      ]) {
        const [a, b] = await both(args);
        expect(compareReplies(a, b, 'exact'), args.join(' ')).toBeUndefined();
      }
      // Redirections name the owner by address: compare them with addresses replaced by node index.
      const normalise = (node: RespNode, nodes: ReadonlyArray<{ port: number }>) =>
        node.raw
          .toString('latin1')
          .replace(
            /127\.0\.0\.1:(\d+)/g,
            (_, port) => `node${nodes.findIndex((n) => n.port === Number(port))}`,
          );
      for (const args of [
        ['SET', 'foo', '1'],
        ['GET', '{a}'],
        ['EVAL', 'return 1', '1', 'foo'],
        ['EVAL', 'return 1', '2', '{a}1', '{b}2'],
        ['SPUBLISH', 'foo', 'x'],
        ['SSUBSCRIBE', 'foo'],
        ['SELECT', '1'],
        ['SELECT', '0'],
        ['MULTI'],
        ['SET', 'foo', '1'],
        ['PING'],
        ['EXEC'],
        ['WATCH', 'foo'],
        ['MGET', 'foo', '{a}'],
        ['XREAD', 'STREAMS', 'foo', 'bar', '0', '0'],
        ['CLUSTER', 'COUNTKEYSINSLOT', '12182'],
      ]) {
        const [a, b] = await both(args);
        expect(normalise(b, embedded.nodes), args.join(' ')).toBe(normalise(a, real.nodes));
      }
    });
  }
});
