import { describe, expect, it } from 'vitest';
import { fallbackOrder, parseClusterSlots } from '../src/topology.js';

describe('cluster topology helpers', () => {
  it('reads primaries from a CLUSTER SLOTS reply, sorted by slot, skipping what it cannot read', () => {
    const reply = [
      [10923, 16383, ['127.0.0.1', 7002, 'c'], ['127.0.0.1', 7005, 'f']],
      [0, 5460, ['', 7000, 'a']],
      [5461, 10922, [Buffer.from('10.0.0.2'), 7001, 'b']],
      ['bad'],
      [1, 2, 'not a node'],
    ];
    expect(parseClusterSlots(reply, 'seed.local')).toEqual([
      { start: 0, end: 5460, primary: { host: 'seed.local', port: 7000 } },
      { start: 5461, end: 10922, primary: { host: '10.0.0.2', port: 7001 } },
      { start: 10923, end: 16383, primary: { host: '127.0.0.1', port: 7002 } },
    ]);
    expect(parseClusterSlots('nope', 'x')).toEqual([]);
  });

  it('orders fallback nodes the same way for every caller: sorted, starting after the owner', () => {
    const nodes = ['h:3', 'h:1', 'h:2', 'h:4'];
    expect(fallbackOrder(nodes, 'h:2')).toEqual(['h:3', 'h:4', 'h:1']);
    expect(fallbackOrder(nodes, 'h:4')).toEqual(['h:1', 'h:2', 'h:3']);
    expect(fallbackOrder(nodes, 'h:0')).toEqual(['h:1', 'h:2', 'h:3', 'h:4']);
    expect(fallbackOrder(nodes, undefined)).toEqual(['h:1', 'h:2', 'h:3', 'h:4']);
  });
});
