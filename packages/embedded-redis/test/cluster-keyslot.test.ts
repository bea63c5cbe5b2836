import { describe, expect, it } from 'vitest';
import { CLUSTER_SLOTS, crc16, keySlot } from '../src/crc16.js';

describe('crc16', () => {
  it('is CRC16-XMODEM (check value of "123456789" is 0x31C3)', () => {
    expect(crc16('123456789')).toBe(0x31c3);
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(crc16('')).toBe(0);
  });
});

describe('keySlot', () => {
  it('hashes a whole key without a hash tag', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('a')).toBe(15495);
    expect(keySlot('c')).toBe(7365);
    expect(keySlot('')).toBe(0);
  });

  it('hashes only the first non-empty {tag}', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('{user1000}.followers')).toBe(keySlot('{user1000}.following'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });

  it('hashes the whole key when the first tag is empty or unclosed', () => {
    expect(keySlot('foo{}{bar}')).toBe(crc16('foo{}{bar}') % CLUSTER_SLOTS);
    expect(keySlot('foo{bar')).toBe(crc16('foo{bar') % CLUSTER_SLOTS);
    expect(keySlot('}foo{')).toBe(crc16('}foo{') % CLUSTER_SLOTS);
  });

  it('gives the same slot for a latin1 binary string and its Buffer', () => {
    for (const key of ['\u00ff{\u0000}x', 'caf\u00e9', '{\u0080\u00fe}', 'plain']) {
      expect(keySlot(key)).toBe(keySlot(Buffer.from(key, 'latin1')));
    }
  });
});
