import { describeTransport } from '@relaybus/conformance';
import { silentLogger } from '@relaybus/core';
import { type RedisCluster, startRedisCluster } from '@relaybus/testing';
import { afterAll, beforeAll } from 'vitest';
import { type RedisStreamsOptions, RedisStreamsTransport, streamsCapabilities } from '../src/index.js';

let cluster: RedisCluster | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

function options(extra: Partial<RedisStreamsOptions> = {}): RedisStreamsOptions {
  if (cluster === undefined) throw new Error('the Redis Cluster is not started yet');
  return {
    connection: { cluster: { nodes: cluster.urls } },
    minIdleMs: 500,
    blockMs: 1_000,
    delayedPollMs: 100,
    logger: silentLogger,
    ...extra,
  };
}

describeTransport('redis-streams (Cluster)', () => new RedisStreamsTransport(options()), {
  redeliveryIdleMs: 500,
  capabilities: streamsCapabilities(false),
});

describeTransport(
  'redis-streams (Cluster, ordered, 4 partitions)',
  () => new RedisStreamsTransport(options({ leaseMs: 600, defaults: { ordered: true, partitions: 4 } })),
  { redeliveryIdleMs: 500, capabilities: streamsCapabilities(true) },
);
