import { afterAll, beforeAll } from 'vitest';
// embedded-redis depends on no relaybus package: the transport and its suite come from their dist.
import { describeTransport } from '../../conformance/dist/index.js';
import { silentLogger } from '../../core/dist/index.js';
import { RedisStreamsTransport, streamsCapabilities } from '../../redis-streams/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

/**
 * The Redis Streams transport's conformance suite, run against the embedded server as
 * packages/redis-streams/test/conformance.int.test.ts runs it against redis-server. The
 * scenarios that scale run at half scale (the load one: 1,000 messages per group) to keep this file
 * well under a minute on two cores, waits get 30 s instead of 10 s, and entries count as abandoned
 * after 1 s idle instead of 0.5 s (leases last 1.2 s): the server shares one thread with the
 * transport under test here, and on a loaded machine that thread stalls for over 0.5 s at times,
 * which would let a live consumer's deliveries be reclaimed (a duplicate, not a loss). The ordered,
 * partitioned variant is in streams-transport-ordered.int.test.ts (a file each, to run in parallel).
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
      minIdleMs: 1_000,
      blockMs: 1_000,
      delayedPollMs: 100,
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 1_000, scale: 0.5, timeoutMs: 30_000, capabilities: streamsCapabilities(false) },
);
