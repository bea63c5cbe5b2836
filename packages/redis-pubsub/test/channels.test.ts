import { ConfigError } from '@relaybus/core';
import { hashSlot, KeySpace } from '@relaybus/redis';
import { describe, expect, it } from 'vitest';
import { ChannelNames, isPattern } from '../src/index.js';

describe('channel names', () => {
  const names = new ChannelNames(new KeySpace('relaybus:'));

  it('names a subject channel like its Redis key, with the subject as hash tag', () => {
    expect(names.channel('orders')).toBe('relaybus:{orders}');
    expect(names.slot(names.channel('orders'))).toBe(hashSlot('orders'));
  });

  it('treats "*" as the one wildcard and escapes every other glob character', () => {
    expect(isPattern('orders.*')).toBe(true);
    expect(isPattern('orders?')).toBe(false);
    expect(names.pattern('orders.*')).toBe('relaybus:{orders.*}');
    expect(names.pattern('a?[b]\\*')).toBe('relaybus:{a\\?\\[b\\]\\\\*}');
    expect(new ChannelNames(new KeySpace('app[1]*:')).pattern('x.*')).toBe('app\\[1\\]\\*:{x.*}');
  });

  it('refuses to publish to a pattern and validates subjects', () => {
    expect(() => names.channel('orders.*')).toThrow(ConfigError);
    expect(() => names.channel('has space')).toThrow(ConfigError);
    expect(() => names.channel('has{brace}')).toThrow(ConfigError);
    expect(() => names.pattern('')).toThrow(ConfigError);
  });

  it('names each subject right when publishes alternate between subjects (the last one is cached)', () => {
    const cached = new ChannelNames(new KeySpace('app:'));
    for (const subject of ['a', 'a', 'b', 'a', 'b', 'b', 'c']) {
      expect(cached.channel(subject)).toBe(`app:{${subject}}`);
    }
    expect(() => cached.channel('c.*')).toThrow(ConfigError);
    expect(cached.channel('c')).toBe('app:{c}');
  });

  it('reads the subject back from a channel name', () => {
    expect(names.subjectOf('relaybus:{orders.eu}')).toBe('orders.eu');
    expect(names.subjectOf('other:{orders}')).toBeUndefined();
    expect(names.subjectOf('relaybus:{}')).toBeUndefined();
    expect(names.subjectOf('relaybus:{a}b}')).toBeUndefined();
  });
});
