import { until } from '@relaybus/testing';
import { describe, expect, it } from 'vitest';
import { freshPrefix, useRedis } from './run.js';

const redis = useRedis();

describe('docs/recipes/ipc.md: task queue', () => {
  it('task queue: two workers share the jobs, each job is done once', async () => {
    const prefix = freshPrefix();
    const workers = [
      redis.run('task-queue.mjs', ['worker'], prefix),
      redis.run('task-queue.mjs', ['worker'], prefix),
    ];
    await until(() => workers.every((worker) => worker.lines.includes('worker ready')), 20_000);
    const submit = redis.run('task-queue.mjs', ['submit', '20'], prefix);
    expect(await submit.exited).toBe(0);
    expect(submit.lines).toContain('submitted 20 jobs');
    const done = () => workers.flatMap((worker) => worker.lines.filter((line) => line.includes('resized')));
    await until(() => done().length === 20, 20_000, 'all 20 jobs');
    const images = done().map((line) => /resized (\S+)/.exec(line)?.[1]);
    expect(new Set(images).size).toBe(20);
    for (const worker of workers) worker.stop();
    expect(await Promise.all(workers.map((worker) => worker.exited))).toEqual([0, 0]);
    expect(done()).toHaveLength(20);
  });
});
