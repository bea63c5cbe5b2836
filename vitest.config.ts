import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Which Redis the integration tests (`*.int.test.ts`) run on: REDIS_URL, redis-server from PATH,
 * or, without either, the embedded server (@relaybus/embedded-redis) in each test process;
 * RELAYBUS_TEST_REDIS=embedded|real forces one. Tests that need something only a real server has
 * (TLS, Sentinel, the differential suites) skip themselves with the reason printed.
 */
function redisTarget(): string {
  const forced = process.env.RELAYBUS_TEST_REDIS;
  if (forced === 'real') return 'a real redis-server (RELAYBUS_TEST_REDIS=real)';
  if (forced === 'embedded')
    return 'the embedded server, @relaybus/embedded-redis (RELAYBUS_TEST_REDIS=embedded)';
  if (process.env.REDIS_URL) return 'REDIS_URL';
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const onPath = (name: string) => dirs.some((dir) => existsSync(join(dir, name)));
  if (onPath('redis-server') || onPath('valkey-server')) return 'redis-server from PATH';
  return (
    'the embedded server, @relaybus/embedded-redis: no redis-server/valkey-server on PATH and no ' +
    'REDIS_URL (tests that need a real server are skipped, saying why; install redis-server to run them)'
  );
}

console.log(`relaybus: Redis integration tests run on ${redisTarget()}`);

export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'reliability/test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files start their own redis-server processes; two cores do not gain from more.
    maxWorkers: 2,
  },
});
