import { describe, expect, it } from 'vitest';
import { formatFloat, formatG, formatInteger } from '../src/lua/format.js';
import { TreeWriter } from '../src/lua/reply-tree.js';

describe('C number formatting', () => {
  it('formats %.14g as Lua 5.1 tostring does', () => {
    expect(formatG(3, 14)).toBe('3');
    expect(formatG(1 / 3, 14)).toBe('0.33333333333333');
    expect(formatG(1e15, 14)).toBe('1e+15');
    expect(formatG(2 ** 53, 14)).toBe('9.007199254741e+15');
    expect(formatG(0.0001, 14)).toBe('0.0001');
    expect(formatG(0.00001, 14)).toBe('1e-05');
    expect(formatG(-0, 14)).toBe('-0');
    expect(formatG(Number.POSITIVE_INFINITY, 14)).toBe('inf');
    expect(formatG(Number.NEGATIVE_INFINITY, 14)).toBe('-inf');
  });

  it('formats %.17g as Redis passes numbers to commands', () => {
    expect(formatG(1 / 3, 17)).toBe('0.33333333333333331');
    expect(formatG(0.1, 17)).toBe('0.10000000000000001');
    expect(formatG(1e20, 17)).toBe('1e+20');
    expect(formatG(123456789012, 17)).toBe('123456789012');
  });

  it('formats string.format conversions over the whole double range', () => {
    expect(formatInteger({ flags: '', width: 0, precision: undefined }, 'd', 2 ** 40)).toBe('1099511627776');
    expect(formatInteger({ flags: '0', width: 8, precision: undefined }, 'x', 4294967295)).toBe('ffffffff');
    expect(formatInteger({ flags: '0', width: 6, precision: undefined }, 'd', -42)).toBe('-00042');
    expect(formatInteger({ flags: '-', width: 5, precision: undefined }, 'd', 42)).toBe('42   ');
    expect(formatFloat({ flags: '', width: 5, precision: 1 }, 'f', 1.26)).toBe('  1.3');
    expect(formatFloat({ flags: '', width: 0, precision: undefined }, 'e', 12345.678)).toBe('1.234568e+04');
  });
});

describe('TreeWriter', () => {
  it('folds RESP3 shapes into RESP2 ones as a RESP2 connection receives them', () => {
    const out = new TreeWriter(2);
    out.map(1);
    out.bulk('k');
    out.set(2);
    out.double(1.5);
    out.boolean(true);
    expect(out.root).toEqual({
      kind: 'array',
      items: [Buffer.from('k'), { kind: 'array', items: [Buffer.from('1.5'), 1] }],
    });
  });

  it('keeps RESP3 shapes under protocol 3', () => {
    const out = new TreeWriter(3);
    out.array(2);
    out.nullArray();
    out.double(0.5);
    expect(out.root).toEqual({ kind: 'array', items: [null, { kind: 'double', value: 0.5 }] });
  });
});
