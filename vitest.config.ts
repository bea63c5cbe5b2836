import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { defineConfig } from 'vitest/config';

const INTEGRATION = '**/*.int.test.ts';

/** Why Redis integration tests cannot run here, or undefined when they can. */
function redisMissingReason(): string | undefined {
  if (process.env.RELAYBUS_TEST_REDIS === 'real') return undefined;
  if (process.env.REDIS_URL) return undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const onPath = (name: string) => dirs.some((dir) => existsSync(join(dir, name)));
  if ((onPath('redis-server') || onPath('valkey-server')) && (onPath('redis-cli') || onPath('valkey-cli'))) {
    return undefined;
  }
  return 'no redis-server/valkey-server (with its cli) on PATH and REDIS_URL is not set; install one (apt-get install -y redis-server) to run them';
}

const missing = redisMissingReason();
if (missing !== undefined) {
  console.log(`relaybus: skipping the Redis integration test files (*.int.test.ts): ${missing}`);
}

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'reliability/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', ...(missing === undefined ? [] : [INTEGRATION])],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files start their own redis-server processes; two cores do not gain from more.
    maxWorkers: 2,
  },
});
