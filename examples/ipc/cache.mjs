// Shared cache: one process writes a value, others read it or wait for it to appear; with
// getOrSet, one process computes a missing value while the others wait for it.
// @relaybus/cache, as redis-ipc's cache.
//   node cache.mjs wait <key>           print the value as soon as it is set (at most 30 s)
//   node cache.mjs set <key> <json>     set the value for 60 s
//   node cache.mjs report               get the daily report, computing it once across processes
import { createCache } from '@relaybus/cache';
import { silentLogger } from '@relaybus/core';

const redis = {
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: process.env.IPC_PREFIX ?? 'ipc:',
};
const cache = createCache({ redis, name: 'shared', logger: silentLogger });
const [role, key, json] = process.argv.slice(2);

try {
  if (role === 'wait') {
    console.log(`waiting for ${key}`);
    const value = await cache.wait(key, { timeoutMs: 30_000 });
    console.log(value === undefined ? `no ${key} within 30 s` : `got ${key} = ${JSON.stringify(value)}`);
  } else if (role === 'set') {
    await cache.set(key, JSON.parse(json), { ttlMs: 60_000 });
    console.log(`set ${key}`);
  } else if (role === 'report') {
    const report = await cache.getOrSet(
      'daily-report',
      async () => {
        console.log(`process ${process.pid} computes the report`);
        await new Promise((resolve) => setTimeout(resolve, 500)); // the expensive part
        return { total: 1234, computedBy: process.pid };
      },
      { ttlMs: 60_000, lockTtlMs: 5_000 },
    );
    console.log(`report total ${report.total}, computed by ${report.computedBy}`);
  } else {
    console.error('usage: node cache.mjs wait <key> | set <key> <json> | report');
    process.exitCode = 2;
  }
} finally {
  await cache.close();
}
