import { describe, expect, it } from 'vitest';
import { AsyncQueue } from '../src/index.js';

describe('AsyncQueue', () => {
  it('yields pushed items in order to a waiting consumer and ends after end()', async () => {
    const queue = new AsyncQueue<number>();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const n of queue) seen.push(n);
    })();
    queue.push(1);
    queue.push(2);
    queue.end();
    await loop;
    expect(seen).toEqual([1, 2]);
    expect(queue.push(3)).toBe(false);
  });

  it('close() ends at once and hands back what was never pulled', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a');
    queue.push('b');
    expect((await queue.next()).value).toBe('a');
    expect(queue.close()).toEqual(['b']);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('fail() throws the error into a consumer waiting for the next item', async () => {
    const queue = new AsyncQueue<number>();
    const pending = queue.next();
    queue.fail(new Error('connection lost'));
    await expect(pending).rejects.toThrow('connection lost');
  });

  it('waitForSpace resolves once the buffer drops below the limit', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    let resolved = false;
    const space = queue.waitForSpace(2).then(() => {
      resolved = true;
    });
    await Promise.resolve();
    expect(resolved).toBe(false);
    await queue.next();
    await space;
    expect(resolved).toBe(true);
  });
});
