import { describe, expect, it } from 'vitest';
import { IdTable } from '../src/index.js';

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
