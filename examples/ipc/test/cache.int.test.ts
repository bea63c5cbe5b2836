import { until } from '@relaybus/testing';
import { describe, expect, it } from 'vitest';
import { freshPrefix, useRedis } from './run.js';

const redis = useRedis();

describe('docs/recipes/ipc.md: cache', () => {
  it('cache: a waiting process gets the value another one sets', async () => {
    const prefix = freshPrefix();
    const waiter = redis.run('cache.mjs', ['wait', 'config'], prefix);
    await until(() => waiter.lines.includes('waiting for config'), 20_000);
    const setter = redis.run('cache.mjs', ['set', 'config', '{"mode":"fast"}'], prefix);
    expect(await setter.exited).toBe(0);
    expect(await waiter.exited).toBe(0);
    expect(waiter.lines).toContain('got config = {"mode":"fast"}');
  });

  it('cache: three processes asking for the report compute it once', async () => {
    const prefix = freshPrefix();
    const askers = [1, 2, 3].map(() => redis.run('cache.mjs', ['report'], prefix));
    expect(await Promise.all(askers.map((asker) => asker.exited))).toEqual([0, 0, 0]);
    const lines = askers.flatMap((asker) => asker.lines);
    expect(lines.filter((line) => line.endsWith('computes the report'))).toHaveLength(1);
    const totals = lines.filter((line) => line.startsWith('report total 1234, computed by '));
    expect(new Set(totals).size).toBe(1);
    expect(totals).toHaveLength(3);
  });
});
