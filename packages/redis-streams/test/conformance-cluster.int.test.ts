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

// A consumer that acks one delivery at a time moves at one XACK round trip per message. Three
// Cluster nodes plus this run share two cores with other test runs here, where that round trip
// reaches 5–10 ms under the load scenario (0.3 ms idle), so waits get 20 s instead of 10 s.
const timeoutMs = 20_000;

describeTransport('redis-streams (Cluster)', () => new RedisStreamsTransport(options()), {
  redeliveryIdleMs: 500,
  timeoutMs,
  capabilities: streamsCapabilities(false),
});

describeTransport(
  'redis-streams (Cluster, ordered, 4 partitions)',
  () => new RedisStreamsTransport(options({ leaseMs: 600, defaults: { ordered: true, partitions: 4 } })),
  { redeliveryIdleMs: 500, timeoutMs, capabilities: streamsCapabilities(true) },
);
