import { afterAll, beforeAll } from 'vitest';
import { describeTransport } from '../../conformance/dist/index.js';
import { silentLogger } from '../../core/dist/index.js';
import { listsCapabilities, RedisListsTransport } from '../../redis-lists/dist/index.js';
import { pubsubCapabilities, RedisPubSubTransport } from '../../redis-pubsub/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

/**
 * The conformance suites of the Lists transport (reliable and simple) and the Pub/Sub transport
 * (classic and sharded), run against the embedded server exactly as their packages run them
 * against redis-server. The transports are imported from their built dist by relative path:
 * embedded-redis does not depend on relaybus packages.
 */

let server: EmbeddedRedis | undefined;

beforeAll(async () => {
  server = await startEmbeddedRedis();
});

afterAll(async () => {
  await server?.close();
});

function url(): string {
  if (server === undefined) throw new Error('the embedded server is not started yet');
  return server.url;
}

describeTransport(
  'redis-lists reliable (embedded)',
  () =>
    new RedisListsTransport({
      connection: { url: url() },
      heartbeatTtlMs: 600,
      blockMs: 1_000,
      delayedPollMs: 100,
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 600, capabilities: listsCapabilities('reliable') },
);

describeTransport(
  'redis-lists simple (embedded)',
  () =>
    new RedisListsTransport({
      connection: { url: url() },
      mode: 'simple',
      blockMs: 1_000,
      delayedPollMs: 100,
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 600, capabilities: listsCapabilities('simple') },
);

describeTransport(
  'redis-pubsub classic (embedded)',
  () => new RedisPubSubTransport({ connection: { url: url() }, mode: 'classic', logger: silentLogger }),
  { capabilities: pubsubCapabilities('classic', false) },
);

describeTransport(
  'redis-pubsub sharded (embedded)',
  () => new RedisPubSubTransport({ connection: { url: url() }, mode: 'sharded', logger: silentLogger }),
  { capabilities: pubsubCapabilities('sharded', false) },
);
