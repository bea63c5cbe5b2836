import { describe, expect, it } from 'vitest';
import { List } from '../src/data/list.js';
import { formatScore, parseDouble, SortedSet } from '../src/data/sorted-set.js';

/** Model-based checks of the list deque and the sorted-set skip list (no server needed). */

function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('List (deque)', () => {
  it('matches an array model under random pushes, pops, inserts, removals and trims', () => {
    const random = rng(7);
    const list = new List();
    const model: string[] = [];
    const value = () => String(Math.floor(random() * 5));
    for (let step = 0; step < 8_000; step++) {
      const op = Math.floor(random() * 9);
      if (op === 0 || op === 1) {
        const v = value();
        list.pushLeft(Buffer.from(v));
        model.unshift(v);
      } else if (op === 2 || op === 3) {
        const v = value();
        list.pushRight(Buffer.from(v));
        model.push(v);
      } else if (op === 4) {
        expect(list.popLeft()?.toString()).toBe(model.shift());
      } else if (op === 5) {
        expect(list.popRight()?.toString()).toBe(model.pop());
      } else if (op === 6) {
        const at = Math.floor(random() * (model.length + 1));
        const v = value();
        list.insertAt(at, Buffer.from(v));
        model.splice(at, 0, v);
      } else if (op === 7 && model.length > 0) {
        const at = Math.floor(random() * model.length);
        list.removeAt(at);
        model.splice(at, 1);
      } else if (op === 8) {
        const v = value();
        const count = Math.floor(random() * 5) - 2;
        let removed = 0;
        const limit = count === 0 ? Number.POSITIVE_INFINITY : Math.abs(count);
        if (count >= 0) {
          for (let i = 0; i < model.length && removed < limit; ) {
            if (model[i] === v) {
              model.splice(i, 1);
              removed++;
            } else i++;
          }
        } else {
          for (let i = model.length - 1; i >= 0 && removed < limit; i--) {
            if (model[i] === v) {
              model.splice(i, 1);
              removed++;
            }
          }
        }
        expect(list.remove(Buffer.from(v), count)).toBe(removed);
      }
      expect(list.length).toBe(model.length);
    }
    expect([...list.values()].map(String)).toEqual(model);
  });

  it('pushes and pops at both ends in constant time: 300k each way in a few hundred milliseconds', () => {
    const list = new List();
    const value = Buffer.from('x');
    const started = performance.now();
    for (let i = 0; i < 300_000; i++) list.pushLeft(value);
    for (let i = 0; i < 150_000; i++) list.popRight();
    for (let i = 0; i < 150_000; i++) list.popLeft();
    for (let i = 0; i < 300_000; i++) list.pushRight(value);
    for (let i = 0; i < 300_000; i++) list.popLeft();
    expect(list.length).toBe(0);
    // An Array.shift-based list needs seconds for this; the ring buffer a few milliseconds.
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('keeps a trimmed window and shrinks after draining a large list', () => {
    const list = new List();
    for (let i = 0; i < 10_000; i++) list.pushRight(Buffer.from(String(i)));
    list.keep(100, 199);
    expect(list.length).toBe(100);
    expect(list.at(0)?.toString()).toBe('100');
    expect(list.at(99)?.toString()).toBe('199');
    while (list.length > 1) list.popLeft();
    expect(list.at(0)?.toString()).toBe('199');
    expect(list.indexOf(Buffer.from('199'))).toBe(0);
  });
});

describe('SortedSet (skip list)', () => {
  it('orders by score then member and answers ranks and ranges like a sorted array', () => {
    const random = rng(11);
    const zset = new SortedSet();
    const model = new Map<string, number>();
    for (let step = 0; step < 5_000; step++) {
      const member = `m${Math.floor(random() * 300)}`;
      if (random() < 0.7) {
        const score = Math.floor(random() * 50);
        zset.set(member, score);
        model.set(member, score);
      } else {
        expect(zset.delete(member)).toBe(model.delete(member));
      }
    }
    const sorted = [...model].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    expect([...zset.entries()].map((e) => [e.member, e.score])).toEqual(sorted);
    sorted.forEach(([member], i) => {
      expect(zset.rank(member)).toBe(i);
    });
    expect(zset.rangeByRank(5, 9).map((e) => e.member)).toEqual(sorted.slice(5, 10).map((e) => e[0]));
    expect(zset.rangeByRank(0, 2, true).map((e) => e.member)).toEqual(
      sorted
        .slice(-3)
        .reverse()
        .map((e) => e[0]),
    );
    const inRange = sorted.filter(([, s]) => s > 10 && s <= 20);
    const range = { min: 10, max: 20, minExclusive: true, maxExclusive: false };
    expect(zset.countByScore(range)).toBe(inRange.length);
    expect(zset.rangeByScore(range, false, 2, 3).map((e) => e.member)).toEqual(
      inRange.slice(2, 5).map((e) => e[0]),
    );
    expect(zset.rangeByScore(range, true, 0, 2).map((e) => e.member)).toEqual(
      inRange
        .slice(-2)
        .reverse()
        .map((e) => e[0]),
    );
  });

  it('parses and formats scores as Redis 7.0 does', () => {
    expect(parseDouble('1.5')).toBe(1.5);
    expect(parseDouble('0x10')).toBe(16);
    expect(parseDouble('+inf')).toBe(Number.POSITIVE_INFINITY);
    expect(parseDouble('1e400')).toBeUndefined();
    expect(parseDouble('1e-400')).toBeUndefined();
    expect(parseDouble(' 1')).toBeUndefined();
    expect(parseDouble('nan')).toBeUndefined();
    expect(Object.is(parseDouble('-0'), 0)).toBe(true);
    expect(formatScore(123456789012345680)).toBe('123456789012345680');
    expect(formatScore(1.1)).toBe('1.1000000000000001');
    expect(formatScore(1e20)).toBe('1e+20');
  });
});
