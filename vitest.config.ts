import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { defineConfig } from 'vitest/config';

const INTEGRATION = '**/*.int.test.ts';

/**
 * Which Redis the integration tests (`*.int.test.ts`) get, or undefined when they are skipped:
 * without REDIS_URL and without redis-server on PATH they are skipped (with the reason printed)
 * unless RELAYBUS_TEST_REDIS=embedded asks for the embedded server.
 */
function redisTarget(): string | undefined {
  const forced = process.env.RELAYBUS_TEST_REDIS;
  if (forced === 'real') return 'a real redis-server (RELAYBUS_TEST_REDIS=real)';
  if (forced === 'embedded')
    return 'the embedded server, @relaybus/embedded-redis (RELAYBUS_TEST_REDIS=embedded)';
  if (process.env.REDIS_URL) return 'REDIS_URL';
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const onPath = (name: string) => dirs.some((dir) => existsSync(join(dir, name)));
  if ((onPath('redis-server') || onPath('valkey-server')) && (onPath('redis-cli') || onPath('valkey-cli'))) {
    return 'redis-server from PATH';
  }
  return undefined;
}

const target = redisTarget();
console.log(
  target === undefined
    ? 'relaybus: skipping the Redis integration test files (*.int.test.ts): no redis-server/valkey-server ' +
        '(with its cli) on PATH and REDIS_URL is not set; install one (apt-get install -y redis-server), or ' +
        'run them on the embedded server with RELAYBUS_TEST_REDIS=embedded (docs/embedded-redis.md lists ' +
        'what does not pass there yet)'
    : `relaybus: Redis integration tests run on ${target}`,
);

export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'reliability/test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**', ...(target === undefined ? [INTEGRATION] : [])],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files start their own redis-server processes; two cores do not gain from more.
    maxWorkers: 2,
  },
});
