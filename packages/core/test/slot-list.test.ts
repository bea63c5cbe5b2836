import { describe, expect, it } from 'vitest';
import { SlotList } from '../src/index.js';

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
