import { sendCommand, until } from '@relaybus/testing';
import { describe, expect, it } from 'vitest';
import { freshPrefix, useRedis } from './run.js';

const redis = useRedis();

describe('docs/recipes/ipc.md: event stream', () => {
  it('event stream: a follower sees the retained events, then new ones; MAXLEN bounds the stream', async () => {
    const prefix = freshPrefix();
    const first = redis.run('event-stream.mjs', ['publish', '300'], prefix);
    expect(await first.exited).toBe(0);
    // MAXLEN ~ 100 trims whole stream nodes: about 100 events stay, never all 300.
    const { hostname, port } = new URL(redis.url());
    const length = Number(await sendCommand(hostname, Number(port), ['XLEN', `${prefix}{sensor-events}`]));
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);

    const follower = redis.run('event-stream.mjs', ['follow'], prefix);
    await until(() => follower.lines.some((line) => line.startsWith('follower ready')), 20_000);
    const old = follower.lines.filter((line) => line.startsWith('old '));
    expect(old).toHaveLength(100);
    expect(old.at(-1)).toBe('old boiler reading 300');
    expect(old[0]).toBe('old boiler reading 201');

    const second = redis.run('event-stream.mjs', ['publish', '3'], prefix);
    expect(await second.exited).toBe(0);
    await until(() => follower.lines.filter((line) => line.startsWith('new ')).length === 3, 20_000);
    expect(follower.lines.filter((line) => line.startsWith('new '))).toEqual([
      'new boiler reading 1',
      'new boiler reading 2',
      'new boiler reading 3',
    ]);
    follower.stop();
    expect(await follower.exited).toBe(0);
  });
});
