import { afterAll, beforeAll } from 'vitest';
// embedded-redis depends on no relaybus package: the transport and its suite come from their dist.
import { describeTransport } from '../../conformance/dist/index.js';
import { silentLogger } from '../../core/dist/index.js';
import { RedisStreamsTransport, streamsCapabilities } from '../../redis-streams/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

/**
 * The Redis Streams transport's conformance suite, run against the embedded server exactly as
 * packages/redis-streams/test/conformance.int.test.ts runs it against redis-server.
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
  'redis-streams on the embedded server',
  () =>
    new RedisStreamsTransport({
      connection: { url: url() },
      minIdleMs: 500,
      blockMs: 1_000,
      delayedPollMs: 100,
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 500, capabilities: streamsCapabilities(false) },
);

describeTransport(
  'redis-streams on the embedded server (ordered, 4 partitions)',
  () =>
    new RedisStreamsTransport({
      connection: { url: url() },
      minIdleMs: 500,
      blockMs: 1_000,
      leaseMs: 600,
      delayedPollMs: 100,
      defaults: { ordered: true, partitions: 4 },
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 500, capabilities: streamsCapabilities(true) },
);
