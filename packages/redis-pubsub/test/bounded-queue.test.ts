import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../src/bounded-queue.js';

async function drain<T>(queue: BoundedQueue<T, T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of queue) out.push(item);
  return out;
}

describe('bounded queue', () => {
  it('drop-oldest keeps the newest `capacity` items and counts the dropped ones', async () => {
    const queue = new BoundedQueue<number, number>(3, 'drop-oldest', (n) => n);
    for (let i = 0; i < 10; i++) queue.push(i);
    expect(queue.size).toBe(3);
    expect(queue.dropped).toBe(7);
    queue.end();
    expect(await drain(queue)).toEqual([7, 8, 9]);
  });

  it('drop-newest keeps the first `capacity` items and counts the refused ones', async () => {
    const queue = new BoundedQueue<number, number>(3, 'drop-newest', (n) => n);
    const outcomes = Array.from({ length: 5 }, (_, i) => queue.push(i));
    expect(outcomes).toEqual(['queued', 'queued', 'queued', 'dropped-newest', 'dropped-newest']);
    queue.end();
    expect(await drain(queue)).toEqual([0, 1, 2]);
    expect(queue.dropped).toBe(2);
  });

  it('keeps FIFO order while growing its ring and wrapping around', async () => {
    const queue = new BoundedQueue<number, number>(1000, 'drop-oldest', (n) => n);
    const expected: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 37; i++) queue.push(next++);
      for (let i = 0; i < 20; i++) expected.push((await queue.next()).value as number);
    }
    queue.end();
    expected.push(...(await drain(queue)));
    expect(expected).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('hands an item straight to a waiting consumer, mapping it only when pulled', async () => {
    const mapped: number[] = [];
    const queue = new BoundedQueue<number, string>(1, 'drop-oldest', (n) => {
      mapped.push(n);
      return `#${n}`;
    });
    const waiting = queue.next();
    queue.push(1);
    expect(await waiting).toEqual({ value: '#1', done: false });
    queue.push(2);
    queue.push(3);
    expect(mapped).toEqual([1]);
    expect((await queue.next()).value).toBe('#3');
    expect(mapped).toEqual([1, 3]);
  });

  it('close() discards what is buffered, ends a waiting loop and refuses new items', async () => {
    const queue = new BoundedQueue<number, number>(10, 'drop-oldest', (n) => n);
    queue.push(1);
    queue.push(2);
    expect(queue.close()).toBe(2);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(queue.push(3)).toBe('ended');
    const idle = new BoundedQueue<number, number>(10, 'drop-oldest', (n) => n);
    const waiting = idle.next();
    idle.close();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});

describe('bounded queue poll()', () => {
  it('takes buffered items synchronously, in the order next() would, and says when none is left', async () => {
    const queue = new BoundedQueue<number, string>(4, 'drop-oldest', (n) => `#${n}`);
    expect(queue.poll()).toBeUndefined();
    for (let i = 0; i < 6; i++) queue.push(i);
    expect(queue.poll()).toBe('#2');
    expect((await queue.next()).value).toBe('#3');
    expect(queue.poll()).toBe('#4');
    queue.push(6);
    queue.push(7);
    expect([queue.poll(), queue.poll(), queue.poll(), queue.poll()]).toEqual(['#5', '#6', '#7', undefined]);
    expect(queue.pulled).toBe(6);
    expect(queue.size).toBe(0);
  });

  it('keeps FIFO order across ring wrap-arounds when mixing poll() and next()', async () => {
    const queue = new BoundedQueue<number, number>(100, 'drop-newest', (n) => n);
    const taken: number[] = [];
    let next = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 13; i++) queue.push(next++);
      for (let i = 0; i < 6; i++) taken.push(queue.poll() as number);
      for (let i = 0; i < 5; i++) taken.push((await queue.next()).value as number);
    }
    for (let item = queue.poll(); item !== undefined; item = queue.poll()) taken.push(item);
    expect(queue.dropped).toBe(0);
    expect(taken).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('returns undefined once closed', () => {
    const queue = new BoundedQueue<number, number>(4, 'drop-oldest', (n) => n);
    queue.push(1);
    queue.close();
    expect(queue.poll()).toBeUndefined();
  });
});
