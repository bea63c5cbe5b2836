import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Which Redis the integration tests (`*.int.test.ts`) get, said once at the start of the run. */
function redisTarget(): string {
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
  return (
    'the embedded server, @relaybus/embedded-redis: no redis-server/valkey-server (with its cli) on PATH ' +
    'and REDIS_URL is not set (apt-get install -y redis-server to test on real Redis too)'
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
