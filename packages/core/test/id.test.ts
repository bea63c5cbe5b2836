import { describe, expect, it } from 'vitest';
import { newMessageId } from '../src/index.js';

describe('newMessageId', () => {
  it('makes unique ids that sort in creation order, thousands within one millisecond', () => {
    // 20k ids: thousands share a millisecond and differ only in their sequence part.
    const ids = Array.from({ length: 20_000 }, () => newMessageId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 50)) expect(id).toMatch(/^[0-9a-z]{9}-[0-9a-z]{4,}-[0-9a-f]{8}$/);
  });

  it('starts the sequence again in a new millisecond', async () => {
    const first = newMessageId();
    await new Promise((resolve) => setTimeout(resolve, 3));
    const later = newMessageId();
    expect(later.slice(0, 9) > first.slice(0, 9)).toBe(true);
    expect(later.slice(10, 14)).toBe('0000');
    expect(later.slice(-9)).toBe(first.slice(-9));
  });
});
