import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realRedisSuite, startRedis } from '../../testing/dist/index.js';
import { keySlot } from '../src/crc16.js';
import { RespConnection } from './differential/resp-client.js';

type Started = Awaited<ReturnType<typeof startRedis>>;

/** Random binary keys, biased towards braces so hash-tag edge cases come up often. */
function randomKey(random: () => number): Buffer {
  const length = Math.floor(random() * 12);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    const pick = random();
    bytes[i] =
      pick < 0.2
        ? 0x7b
        : pick < 0.4
          ? 0x7d
          : pick < 0.7
            ? 97 + Math.floor(random() * 3)
            : Math.floor(random() * 256);
  }
  return bytes;
}

/** A small seeded generator (mulberry32) so a failure can be reproduced from the seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const suite = realRedisSuite(
  'keySlot against redis-server CLUSTER KEYSLOT',
  'the reference CLUSTER KEYSLOT of a cluster-enabled redis-server',
  { local: true },
);

describe.skipIf(suite.skip)(suite.title, () => {
  let redis: Started;
  let connection: RespConnection;

  beforeAll(async () => {
    redis = await startRedis({
      server: 'real',
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    });
    connection = await RespConnection.connect(redis.port, redis.host);
  });

  afterAll(async () => {
    connection?.close();
    await redis?.stop();
  });

  it('agrees on 5 000 random binary keys', async () => {
    const seed = 0x5eed_0009;
    const random = seeded(seed);
    const keys = Array.from({ length: 5_000 }, () => randomKey(random));
    for (const key of keys) connection.write(['CLUSTER', 'KEYSLOT', key]);
    const mismatches: string[] = [];
    for (const key of keys) {
      const reply = await connection.read();
      expect(reply.type).toBe(':');
      const expected = Number(reply.text);
      if (keySlot(key) !== expected || keySlot(key.toString('latin1')) !== expected) {
        mismatches.push(`${key.toString('hex')}: redis ${expected}, ours ${keySlot(key)}`);
      }
    }
    expect(mismatches, `seed ${seed}`).toEqual([]);
  });
});
