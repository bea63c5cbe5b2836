import { existsSync } from 'node:fs';
import { findServerBinary } from './process.js';

/** Whether integration tests can get a Redis, and if not, why. */
export type RedisAvailability =
  | { readonly available: true; readonly kind: 'external' | 'local' | 'container' }
  | { readonly available: false; readonly reason: string };

/**
 * Says whether `startRedis` (or, with `{ cluster: true }`, `startRedisCluster`) can give a server,
 * without starting one, so a test file can skip itself with the reason printed:
 *
 * ```ts
 * const redis = await redisAvailability();
 * describe.skipIf(!redis.available)(`streams on Redis${redis.available ? '' : ` (skipped: ${redis.reason})`}`, …)
 * ```
 *
 * With `RELAYBUS_TEST_REDIS=real` it always reports available, so a missing server fails the run
 * instead of skipping. The container answer is a guess (a Docker socket is there); `startRedis`
 * confirms it.
 */
export async function redisAvailability(options: { cluster?: boolean } = {}): Promise<RedisAvailability> {
  const forced = process.env.RELAYBUS_TEST_REDIS;
  if (forced === 'embedded') {
    return {
      available: false,
      reason: 'RELAYBUS_TEST_REDIS=embedded, and the embedded server is not available yet',
    };
  }
  if (options.cluster && process.env.REDIS_CLUSTER_URLS) return { available: true, kind: 'external' };
  if (!options.cluster && process.env.REDIS_URL) return { available: true, kind: 'external' };
  const binary = findServerBinary();
  if (binary && (!options.cluster || binary.cli)) return { available: true, kind: 'local' };
  if (forced === 'real') return { available: true, kind: 'local' };
  if (!options.cluster && (process.env.DOCKER_HOST || existsSync('/var/run/docker.sock'))) {
    try {
      const moduleName = 'testcontainers';
      await import(moduleName);
      return { available: true, kind: 'container' };
    } catch {
      // fall through to the reason below
    }
  }
  const what = options.cluster
    ? 'no redis-server with redis-cli on PATH and REDIS_CLUSTER_URLS is not set'
    : 'no redis-server/valkey-server on PATH, REDIS_URL is not set and no Docker engine with testcontainers';
  return { available: false, reason: `${what}; install redis-server (apt-get install -y redis-server)` };
}
