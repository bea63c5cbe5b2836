import { existsSync } from 'node:fs';
import { serverChoice } from './embedded.js';
import { findServerBinary } from './process.js';

/** Whether integration tests can get a Redis, and if not, why. */
export type RedisAvailability =
  | { readonly available: true; readonly kind: 'external' | 'local' | 'container' | 'embedded' }
  | { readonly available: false; readonly reason: string };

/**
 * Says whether `startRedis` (or, with `{ cluster: true }`, `startRedisCluster`) can give a server,
 * and which kind, without starting one, so a test file can skip itself with the reason printed:
 *
 * ```ts
 * const redis = await redisAvailability();
 * describe.skipIf(!redis.available)(`streams on Redis${redis.available ? '' : ` (skipped: ${redis.reason})`}`, …)
 * ```
 *
 * Without `REDIS_URL` (`REDIS_CLUSTER_URLS`) and redis-server on PATH it reports the embedded
 * server (kind `embedded`), which is always there; `RELAYBUS_TEST_REDIS=embedded` reports it
 * whatever is installed. With `RELAYBUS_TEST_REDIS=real` it reports a real server as available
 * even when none is found, so a missing server fails the run instead of skipping (the container
 * answer is a guess that `startRedis` confirms).
 */
export async function redisAvailability(options: { cluster?: boolean } = {}): Promise<RedisAvailability> {
  let choice: ReturnType<typeof serverChoice>;
  try {
    choice = serverChoice();
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
  if (choice === 'embedded') return { available: true, kind: 'embedded' };
  if (options.cluster && process.env.REDIS_CLUSTER_URLS) return { available: true, kind: 'external' };
  if (!options.cluster && process.env.REDIS_URL) return { available: true, kind: 'external' };
  const binary = findServerBinary();
  if (binary && (!options.cluster || binary.cli)) return { available: true, kind: 'local' };
  if (choice === undefined) return { available: true, kind: 'embedded' };
  if (!options.cluster && (process.env.DOCKER_HOST || existsSync('/var/run/docker.sock'))) {
    try {
      const moduleName = 'testcontainers';
      await import(moduleName);
      return { available: true, kind: 'container' };
    } catch {
      // a real server is required: report it available so the start fails loudly
    }
  }
  return { available: true, kind: 'local' };
}
