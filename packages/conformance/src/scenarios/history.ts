import { expect } from 'vitest';
import { utf8 } from '../bytes.js';
import { defineScenario } from '../scenario.js';
import { expectBytes } from './expect.js';

/** history() returns the newest messages, newest first. */
export const history = defineScenario({
  id: 'history',
  guarantee:
    'history(subject) returns the stored messages newest first with payload and headers, and honours limit',
  needs: ['history'],
  async run(ctx) {
    const read = ctx.transport.history;
    if (read === undefined) throw new Error('capabilities.history is set but transport.history() is missing');
    const subject = ctx.subject();
    const payloads = Array.from({ length: 5 }, (_, i) => utf8(`history ${i}`));
    const ids: string[] = [];
    for (const [i, payload] of payloads.entries()) {
      ids.push((await ctx.publisher().publish(subject, { payload, headers: { 'x-n': String(i) } })).id);
    }
    const all = await read.call(ctx.transport, subject);
    expect(
      all.map((stored) => stored.id),
      'history(subject): ids newest first',
    ).toEqual([...ids].reverse());
    all.forEach((stored, k) => {
      const i = ids.length - 1 - k;
      expectBytes(stored.payload, payloads[i] as Uint8Array, `payload of history entry ${k}`);
      expect(stored.headers['x-n'], `header of history entry ${k}`).toBe(String(i));
      expect(stored.subject, `subject of history entry ${k}`).toBe(subject);
    });
    const newest = await read.call(ctx.transport, subject, { limit: 2 });
    expect(
      newest.map((stored) => stored.id),
      'history(subject, { limit: 2 })',
    ).toEqual([ids[4], ids[3]]);
    expect(await read.call(ctx.transport, ctx.subject('empty')), 'history of an unused subject').toEqual([]);
  },
});
