import { describe, expect, it } from 'vitest';
import { IdTable, SlotList } from '../src/index.js';

describe('IdTable', () => {
  it('adds, replaces, finds and removes values by id, counting them', () => {
    const table = new IdTable<{ n: number }>();
    const one = { n: 1 };
    table.set('1700000000000-0', one);
    table.set('1700000000000-1', { n: 2 });
    table.set('1700000000000-0', { n: 3 });
    expect(table.size).toBe(2);
    expect(table.get('1700000000000-0')).toEqual({ n: 3 });
    expect(table.has('1700000000000-1')).toBe(true);
    expect(table.has('missing')).toBe(false);
    expect(table.get('missing')).toBeUndefined();
    expect(table.delete('1700000000000-1')).toBe(true);
    expect(table.delete('1700000000000-1')).toBe(false);
    expect(table.size).toBe(1);
    expect(table.values()).toEqual([{ n: 3 }]);
  });

  it('keeps ids that look like Object.prototype members as plain entries', () => {
    const table = new IdTable<string>();
    expect(table.has('constructor')).toBe(false);
    expect(table.has('__proto__')).toBe(false);
    table.set('__proto__', 'a');
    table.set('toString', 'b');
    expect(table.get('__proto__')).toBe('a');
    expect(table.values()).toEqual(['a', 'b']);
    expect(table.size).toBe(2);
  });

  it('lists values in the order their ids were first added, after churn', () => {
    const table = new IdTable<number>();
    for (let i = 0; i < 1_000; i++) {
      table.set(`m-${i}`, i);
      if (i % 3 !== 0) table.delete(`m-${i}`);
    }
    const kept = Array.from({ length: 334 }, (_, i) => i * 3);
    expect(table.values()).toEqual(kept);
    expect(table.size).toBe(kept.length);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.values()).toEqual([]);
  });

  it('rejects undefined as a value, naming the id', () => {
    const table = new IdTable<number | undefined>();
    expect(() => table.set('x-1', undefined)).toThrow(/IdTable.set\("x-1"\): value is undefined/);
    expect(table.size).toBe(0);
  });
});

describe('SlotList', () => {
  const item = (name: string) => ({ name, slot: -1 });

  it('adds once, finds, and deletes from any place, keeping the others', () => {
    const list = new SlotList<{ name: string; slot: number }>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item) as [
      ReturnType<typeof item>,
      ReturnType<typeof item>,
      ReturnType<typeof item>,
      ReturnType<typeof item>,
    ];
    for (const x of [a, b, c, d]) expect(list.add(x)).toBe(true);
    expect(list.add(b)).toBe(false);
    expect(list.size).toBe(4);
    expect(list.delete(b)).toBe(true);
    expect(list.delete(b)).toBe(false);
    expect(b.slot).toBe(-1);
    expect(list.has(b)).toBe(false);
    expect(list.has(d)).toBe(true);
    expect(list.delete(a)).toBe(true);
    expect(
      list
        .values()
        .map((x) => x.name)
        .sort(),
    ).toEqual(['c', 'd']);
    expect(list.delete(d)).toBe(true);
    expect(list.delete(c)).toBe(true);
    expect(list.size).toBe(0);
    expect(list.values()).toEqual([]);
  });

  it('does not take an item listed in another list for its own', () => {
    const one = new SlotList<{ name: string; slot: number }>();
    const other = new SlotList<{ name: string; slot: number }>();
    const x = item('x');
    const y = item('y');
    one.add(x);
    other.add(y);
    expect(other.has(x)).toBe(false);
    expect(other.delete(x)).toBe(false);
    expect(one.has(x)).toBe(true);
  });

  it('stays consistent under random adds and deletes', () => {
    const list = new SlotList<{ name: string; slot: number }>();
    const items = Array.from({ length: 200 }, (_, i) => item(`i${i}`));
    const expected = new Set<string>();
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed;
    };
    for (let step = 0; step < 5_000; step++) {
      const x = items[next() % items.length] as ReturnType<typeof item>;
      if (next() % 2 === 0) {
        expect(list.add(x)).toBe(!expected.has(x.name));
        expected.add(x.name);
      } else {
        expect(list.delete(x)).toBe(expected.has(x.name));
        expected.delete(x.name);
      }
    }
    expect(
      list
        .values()
        .map((x) => x.name)
        .sort(),
    ).toEqual([...expected].sort());
    expect(list.size).toBe(expected.size);
  });
});
