import { findServerBinary } from './process.js';

/**
 * Tests that need something only a real redis-server has (TLS, Sentinel, redis-server arguments,
 * a reference server to compare the embedded one with). On a machine without redis-server they
 * are skipped with the reason printed, never failed and never skipped silently.
 */

/** What a test needs from a real Redis beyond a server answering commands. */
export interface RealRedisNeeds {
  /** A Cluster: redis-server with redis-cli on PATH, or `REDIS_CLUSTER_URLS`. */
  readonly cluster?: boolean;
  /**
   * A redis-server binary on this machine (TLS, Sentinel, redis-server arguments, a process to
   * kill): `REDIS_URL` / `REDIS_CLUSTER_URLS` do not count.
   */
  readonly local?: boolean;
}

/** Whether a real Redis is there for a test, and if not, why. */
export type RealRedisAvailability =
  | { readonly available: true }
  | { readonly available: false; readonly reason: string };

/**
 * Whether `startRedis({ server: 'real' })` (`startRedisCluster({ server: 'real' })` with
 * `{ cluster: true }`) can give a real Redis with `needs`, without starting one. Available when
 * redis-server (with redis-cli for a Cluster) is on PATH, when `REDIS_URL` (`REDIS_CLUSTER_URLS`)
 * is set and `needs.local` is not, and always under `RELAYBUS_TEST_REDIS=real`, so that a missing
 * server fails the run there instead of skipping. `RELAYBUS_TEST_REDIS=embedded` does not hide an
 * installed redis-server: tests that need one by design still run on it.
 */
export function realRedisAvailability(needs: RealRedisNeeds = {}): RealRedisAvailability {
  if (process.env.RELAYBUS_TEST_REDIS === 'real') return { available: true };
  const binary = findServerBinary();
  if (binary && (!needs.cluster || binary.cli)) return { available: true };
  if (!needs.local) {
    if (needs.cluster && process.env.REDIS_CLUSTER_URLS) return { available: true };
    if (!needs.cluster && process.env.REDIS_URL) return { available: true };
  }
  const missing = binary
    ? 'no redis-cli (or valkey-cli) on PATH'
    : 'no redis-server (or valkey-server) on PATH';
  const instead = needs.local
    ? ''
    : needs.cluster
      ? ' and REDIS_CLUSTER_URLS is not set'
      : ' and REDIS_URL is not set';
  return { available: false, reason: `${missing}${instead}` };
}

/** A test suite that needs a real Redis: whether to skip it, and the title to give it. */
export interface RealRedisSuite {
  /** True when no real Redis is there: skip the suite (its hooks should return early too). */
  readonly skip: boolean;
  /** `name`, or when skipped `name (skipped: needs a real redis-server for <why>: <reason>)`. */
  readonly title: string;
}

const printed = new Set<string>();

/**
 * Declares that suite `name` needs a real redis-server for `why` (e.g. `'TLS, which the embedded
 * server does not speak'`). When none is there (see `realRedisAvailability`) it says so on stderr,
 * once per suite and process, and returns `skip: true` with the reason in the title:
 *
 * ```ts
 * const real = realRedisSuite('RedisConnector over TLS', 'TLS, which the embedded server does not speak', { local: true });
 * beforeAll(async () => { if (real.skip) return; server = await startRedis({ server: 'real', tls: true }); });
 * describe.skipIf(real.skip)(real.title, () => { … });
 * ```
 */
export function realRedisSuite(name: string, why: string, needs: RealRedisNeeds = {}): RealRedisSuite {
  const availability = realRedisAvailability(needs);
  if (availability.available) return { skip: false, title: name };
  const message = `needs a real redis-server for ${why}: ${availability.reason}`;
  if (!printed.has(name)) {
    printed.add(name);
    process.stderr.write(`relaybus: skipping "${name}": ${message}\n`);
  }
  return { skip: true, title: `${name} (skipped: ${message})` };
}
