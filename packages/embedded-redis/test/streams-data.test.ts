import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareIds,
  idText,
  MAX_ID,
  PendingEntry,
  PendingList,
  Stream,
  type StreamId,
  ZERO_ID,
} from '../src/data/stream.js';

/**
 * The stream data structure against a plain sorted-array model: appends, deletions, exact and
 * approximate trims, ranges in both directions, and the pending entries list's ordered traversal.
 */

const LIMITS = { maxEntries: 5, maxBytes: 4096 };

type Op =
  | { kind: 'append'; gap: number; seqGap: number }
  | { kind: 'delete'; pick: number }
  | { kind: 'maxlen'; n: number; approx: boolean; limit: number }
  | { kind: 'minid'; pick: number; approx: boolean }
  | { kind: 'range'; a: number; b: number; count: number; reverse: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('append' as const), gap: fc.nat(3), seqGap: fc.nat(2) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat(1000) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('maxlen' as const),
      n: fc.nat(30),
      approx: fc.boolean(),
      limit: fc.constantFrom(0, 3, 10, 10_000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('minid' as const), pick: fc.nat(1000), approx: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('range' as const),
      a: fc.nat(1000),
      b: fc.nat(1000),
      count: fc.nat(5),
      reverse: fc.boolean(),
    }),
  },
);

function ids(entries: readonly StreamId[]): string[] {
  return entries.map(idText);
}

describe('Stream', () => {
  it('behaves as a sorted array under appends, deletions, trims and ranges', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const stream = new Stream();
        let model: StreamId[] = [];
        let last: StreamId = ZERO_ID;
        // Ids an operation may name: every id ever added plus a few around them.
        const known: StreamId[] = [];
        const pickId = (pick: number): StreamId =>
          known.length === 0 ? { ms: BigInt(pick), seq: 0n } : (known[pick % known.length] as StreamId);
        for (const step of ops) {
          switch (step.kind) {
            case 'append': {
              const id = {
                ms: last.ms + BigInt(step.gap),
                seq: step.gap === 0 ? last.seq + 1n : BigInt(step.seqGap),
              };
              if (compareIds(id, last) <= 0) break;
              stream.append(id, [Buffer.from('f'), Buffer.from(idText(id))], LIMITS);
              model.push(id);
              known.push(id);
              last = id;
              break;
            }
            case 'delete': {
              const id = pickId(step.pick);
              const present = model.some((m) => compareIds(m, id) === 0);
              expect(stream.delete(id)).toBe(present);
              model = model.filter((m) => compareIds(m, id) !== 0);
              break;
            }
            case 'maxlen': {
              const before = model.length;
              const removed = stream.trim({
                strategy: 'maxlen',
                maxLen: step.n,
                approx: step.approx,
                limit: step.approx ? step.limit : 0,
              });
              if (!step.approx) {
                expect(stream.length).toBe(Math.min(before, step.n));
              } else {
                // Whole nodes only: never below the bound, never more than the limit.
                expect(stream.length).toBeGreaterThanOrEqual(Math.min(before, step.n));
                if (step.limit > 0) expect(removed).toBeLessThanOrEqual(step.limit);
              }
              expect(removed).toBe(before - stream.length);
              model = model.slice(before - stream.length);
              break;
            }
            case 'minid': {
              const bound = pickId(step.pick);
              const before = model.length;
              const removed = stream.trim({ strategy: 'minid', minId: bound, approx: step.approx, limit: 0 });
              const below = model.filter((m) => compareIds(m, bound) < 0).length;
              if (!step.approx) expect(removed).toBe(below);
              else expect(removed).toBeLessThanOrEqual(below);
              model = model.slice(removed);
              expect(stream.length).toBe(before - removed);
              break;
            }
            case 'range': {
              let start = pickId(step.a);
              let end = pickId(step.b);
              if (compareIds(start, end) > 0) [start, end] = [end, start];
              let expected = model.filter((m) => compareIds(m, start) >= 0 && compareIds(m, end) <= 0);
              if (step.reverse) expected = expected.reverse();
              if (step.count > 0) expected = expected.slice(0, step.count);
              expect(ids(stream.range(start, end, step.count, step.reverse))).toEqual(ids(expected));
              break;
            }
          }
          expect(stream.length).toBe(model.length);
          expect(ids(stream.range(ZERO_ID, MAX_ID, 0, false))).toEqual(ids(model));
          expect(idText(stream.firstId)).toBe(model.length > 0 ? idText(model[0] as StreamId) : '0-0');
          expect(idText(stream.lastValidId())).toBe(
            model.length > 0 ? idText(model[model.length - 1] as StreamId) : '0-0',
          );
          for (const id of model.slice(0, 3)) expect(stream.has(id)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('trims approximately by whole nodes, as Redis removes whole listpacks', () => {
    const stream = new Stream();
    for (let i = 1; i <= 250; i++) {
      stream.append({ ms: BigInt(i), seq: 0n }, [Buffer.from('f'), Buffer.from(String(i))], {
        maxEntries: 100,
        maxBytes: 4096,
      });
    }
    expect(stream.nodeCount()).toBe(3);
    expect(stream.trim({ strategy: 'maxlen', maxLen: 120, approx: true, limit: 10_000 })).toBe(100);
    expect(stream.length).toBe(150);
    expect(stream.trim({ strategy: 'maxlen', maxLen: 10, approx: true, limit: 50 })).toBe(0);
    expect(stream.trim({ strategy: 'minid', minId: { ms: 230n, seq: 0n }, approx: true, limit: 0 })).toBe(
      100,
    );
    expect(idText(stream.firstId)).toBe('201-0');
    expect(stream.nodeCount()).toBe(1);
  });

  it('compacts after heavy deletion and front trimming without losing order', () => {
    const stream = new Stream();
    const limits = { maxEntries: 100, maxBytes: 4096 };
    for (let i = 1; i <= 20_000; i++)
      stream.append({ ms: BigInt(i), seq: 0n }, [Buffer.from('f'), Buffer.from('v')], limits);
    for (let i = 1; i <= 20_000; i += 2) stream.delete({ ms: BigInt(i), seq: 0n });
    expect(stream.length).toBe(10_000);
    expect(stream.trim({ strategy: 'maxlen', maxLen: 5_000, approx: false, limit: 0 })).toBe(5_000);
    const rest = stream.range(ZERO_ID, MAX_ID, 0, false);
    expect(rest).toHaveLength(5_000);
    expect(idText(rest[0] as StreamId)).toBe('10002-0');
    expect(stream.find({ ms: 20_000n, seq: 0n })?.id).toBe('20000-0');
    expect(stream.find({ ms: 19_999n, seq: 0n })).toBeUndefined();
    expect(idText(stream.maxDeletedId)).toBe('19999-0');
  });
});

describe('PendingList', () => {
  it('keeps ids in order through adds, replacements and deletions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ add: fc.boolean(), ms: fc.nat(60) }), { maxLength: 300 }),
        fc.nat(60),
        (steps, from) => {
          const list = new PendingList();
          const model = new Map<string, bigint>();
          for (const { add, ms } of steps) {
            const id = `${ms}-0`;
            if (add) {
              list.add(new PendingEntry(BigInt(ms), 0n, id, undefined, 0, 1));
              model.set(id, BigInt(ms));
            } else {
              expect(list.delete(id)).toBe(model.delete(id));
            }
          }
          const sorted = [...model.entries()]
            .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
            .map(([id]) => id);
          expect(list.size).toBe(model.size);
          expect([...list.values()].map((item) => item.id)).toEqual(sorted);
          expect([...list.from({ ms: BigInt(from), seq: 0n })].map((item) => item.id)).toEqual(
            sorted.filter((id) => BigInt(id.split('-')[0] as string) >= BigInt(from)),
          );
          expect(list.first()?.id).toBe(sorted[0]);
          expect(list.last()?.id).toBe(sorted[sorted.length - 1]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
