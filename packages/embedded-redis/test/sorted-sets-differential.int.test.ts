import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RawConnection } from './lists-harness.js';
import { canCompare, describeVsReal, embeddedTarget, realTarget, type Target } from './lists-targets.js';

/**
 * The sorted-set commands replayed on a real redis-server and on the embedded server: reply bytes
 * must be equal (scores as `%.17g` bulks in RESP2, doubles and [member, score] pairs in RESP3).
 */

let real: Target;
let embedded: Target;
let counter = 0;

beforeAll(async () => {
  if (!canCompare) return;
  [real, embedded] = await Promise.all([realTarget(), embeddedTarget()]);
}, 30_000);

afterAll(async () => {
  await Promise.all([real?.stop(), embedded?.stop()]);
});

async function replay(steps: readonly string[], protocol: 2 | 3): Promise<[string[], string[]]> {
  const prefix = `zset-diff-${process.pid}-${++counter}`;
  const run = async (target: Target): Promise<string[]> => {
    const conn = await target.connect();
    try {
      if (protocol === 3) await conn.send(['HELLO', '3']);
      const out: string[] = [];
      for (const step of steps) {
        const args = step.split(' ').map((arg) => arg.replaceAll('{k}', prefix).replaceAll('\\s', ' '));
        out.push(`${step} → ${await conn.send(args)}`);
      }
      await conn.send([
        'DEL',
        prefix,
        `${prefix}:a`,
        `${prefix}:b`,
        `${prefix}:d`,
        `${prefix}:s`,
        `${prefix}:l`,
      ]);
      return out;
    } finally {
      conn.close();
    }
  };
  return Promise.all([run(real), run(embedded)]);
}

async function same(steps: readonly string[], protocol: 2 | 3 = 2): Promise<void> {
  const [expected, actual] = await replay(steps, protocol);
  expect(actual).toEqual(expected);
}

const SCORES = [
  'ZADD {k} 1.1 a 0.1 b 1e20 c 1e-5 d 123456789012345678 e -0 f 0x10 g +inf h -inf i 3 j',
  'ZRANGE {k} 0 -1 WITHSCORES',
  'ZSCORE {k} a',
  'ZMSCORE {k} a nope h',
  'ZSCAN {k} 0',
  'ZINCRBY {k} 1 h',
  'ZINCRBY {k} -inf h',
  'ZINCRBY {k} 2.5 new',
  'ZINCRBY {k} x a',
  'ZADD {k} nan a',
  'ZADD {k} 1e400 a',
  'ZADD {k} \\s1 a',
  'ZADD {k} 1_0 a',
];

describeVsReal('sorted-set replies match redis-server byte for byte', () => {
  it('formats and parses scores as Redis 7.0 (RESP2)', async () => {
    await same(SCORES);
  });

  it('formats scores as RESP3 doubles and pairs', async () => {
    await same(SCORES, 3);
  });

  it('ZADD options: NX, XX, GT, LT, CH, INCR and their conflicts', async () => {
    await same([
      'ZADD {k} 1 a 2 b',
      'ZADD {k} NX 5 a 3 c',
      'ZADD {k} XX 5 a 4 d',
      'ZADD {k} GT 4 a 10 b',
      'ZADD {k} LT CH 4 a 10 b 1 e',
      'ZADD {k} GT CH 0 new',
      'ZADD {k} INCR 2 a',
      'ZADD {k} NX INCR 2 a',
      'ZADD {k} XX INCR 2 zz',
      'ZADD {k} GT INCR -1 a',
      'ZADD {k} XX NX 1 a',
      'ZADD {k} GT LT 1 a',
      'ZADD {k} GT NX 1 a',
      'ZADD {k} INCR 1 a 2 b',
      'ZADD {k} 1 a 2',
      'ZADD {k} x a',
      'ZADD {k}:b XX 1 a',
      'ZADD {k}:d 1 a 1 a',
      'ZADD {k}:d CH 2 a 3 a',
      'ZINCRBY {k}:d 1e308 a',
      'ZINCRBY {k}:d 1e308 a',
      'ZINCRBY {k}:d 1e308 a',
      'ZRANGESTORE {k}:a {k}:d 0 -1 REV',
      'ZRANGE {k} 0 -1 REV REV',
      'ZRANGEBYSCORE {k} 0 1 BYSCORE',
      'ZREVRANGE {k} 0 -1 REV',
      'ZRANGE {k} 0 -1 WITHSCORES',
      'ZCARD {k}',
      'ZCARD {k}:b',
      'SET {k}:s x',
      'ZADD {k}:s 1 a',
      'ZSCORE {k}:s a',
    ]);
  });

  it('ranks, counts and removal', async () => {
    await same([
      'ZADD {k} 1 a 2 b 2 c 3 d 4 e',
      'ZRANK {k} c',
      'ZREVRANK {k} c',
      'ZRANK {k} nope',
      'ZCOUNT {k} 2 3',
      'ZCOUNT {k} (2 +inf',
      'ZCOUNT {k} -inf (2',
      'ZCOUNT {k} x 1',
      'ZCOUNT {k} \\s1 2',
      'ZREM {k} a nope',
      'ZREM {k}:b a',
      'ZREMRANGEBYSCORE {k} (3 +inf',
      'ZREMRANGEBYRANK {k} 0 0',
      'ZRANGE {k} 0 -1 WITHSCORES',
      'ZREMRANGEBYSCORE {k} x 1',
      'ZREMRANGEBYRANK {k} 0 -1',
      'EXISTS {k}',
      'ZADD {k} 0 a 0 b 0 c 0 d 0 e',
      'ZLEXCOUNT {k} [b (d',
      'ZLEXCOUNT {k} - +',
      'ZLEXCOUNT {k} a b',
      'ZREMRANGEBYLEX {k} (a [c',
      'ZRANGE {k} 0 -1',
      'ZREMRANGEBYLEX {k} x +',
    ]);
  });

  it('ZRANGE in all its forms, the legacy range commands and ZRANGESTORE', async () => {
    await same([
      'ZADD {k} 1 a 2 b 3 c 4 d 5 e',
      'ZRANGE {k} 1 3',
      'ZRANGE {k} -2 -1 WITHSCORES',
      'ZRANGE {k} 0 -1 REV',
      'ZRANGE {k} (1 4 BYSCORE',
      'ZRANGE {k} 4 (1 BYSCORE REV WITHSCORES',
      'ZRANGE {k} -inf +inf BYSCORE LIMIT 1 2',
      'ZRANGE {k} -inf +inf BYSCORE LIMIT 1 -1',
      'ZRANGE {k} -inf +inf BYSCORE LIMIT -1 2',
      'ZRANGE {k} [b (e BYLEX',
      'ZRANGE {k} + - BYLEX REV LIMIT 0 2',
      'ZRANGE {k} 0 -1 LIMIT 0 1',
      'ZRANGE {k} [a [z BYLEX WITHSCORES',
      'ZRANGE {k} (1 +inf BYSCORE LIMIT 0',
      'ZRANGE {k} 0 -1 BYSCORE BYLEX',
      'ZRANGE {k} a b BYLEX',
      'ZRANGE {k} x 1 BYSCORE',
      'ZRANGE {k}:b 0 -1',
      'ZRANGEBYSCORE {k} -inf +inf WITHSCORES LIMIT 0 2',
      'ZRANGEBYSCORE {k} 2 3 REV',
      'ZREVRANGEBYSCORE {k} +inf 3',
      'ZRANGEBYLEX {k} - [c',
      'ZREVRANGEBYLEX {k} + (c LIMIT 0 1',
      'ZREVRANGE {k} 0 1 WITHSCORES',
      'ZRANGESTORE {k}:d {k} 1 3',
      'ZRANGE {k}:d 0 -1 WITHSCORES',
      'ZRANGESTORE {k}:d {k} (4 +inf BYSCORE',
      'ZRANGESTORE {k}:d {k}:b 0 -1',
      'EXISTS {k}:d',
      'ZRANGESTORE {k}:d {k} 0 -1 WITHSCORES',
    ]);
  });

  it('ZRANGE WITHSCORES and ZPOP pairs in RESP3', async () => {
    await same(
      [
        'ZADD {k} 1 a 2 b 3 c',
        'ZRANGE {k} 0 -1 WITHSCORES',
        'ZRANGEBYSCORE {k} -inf +inf WITHSCORES',
        'ZPOPMIN {k}',
        'ZPOPMIN {k} 1',
        'ZPOPMAX {k} 5',
        'ZPOPMIN {k}',
        'ZMPOP 1 {k} MIN',
        'ZRANDMEMBER {k}',
        'ZSCORE {k} a',
        'ZADD {k} 1.5 a 2 b',
        'ZRANDMEMBER {k} 5 WITHSCORES',
        'ZUNION 1 {k} WITHSCORES',
        'ZMSCORE {k} a nope',
        'ZADD {k} INCR 1 a',
        'BZPOPMIN {k} 0',
        'BZMPOP 0 1 {k} MAX COUNT 3',
        'ZSCAN {k} 0',
      ],
      3,
    );
  });

  it('pops, ZMPOP, BZPOPMIN/BZPOPMAX with data, ZUNIONSTORE/ZINTERSTORE, ZSCAN and ZRANDMEMBER', async () => {
    await same([
      'ZADD {k} 1 a 2 b 3 c 4 d',
      'ZPOPMIN {k}',
      'ZPOPMAX {k} 2',
      'ZPOPMIN {k} 0',
      'ZPOPMIN {k} -1',
      'ZPOPMIN {k} 1 2',
      'ZPOPMIN {k}:b',
      'ZPOPMIN {k}:b 3',
      'ZADD {k} 1 a 2 b 3 c 4 d',
      'ZMPOP 2 {k}:b {k} MAX COUNT 2',
      'ZMPOP 1 {k}:b MIN',
      'ZMPOP 0 {k} MIN',
      'ZMPOP 1 {k} MIDDLE',
      'ZMPOP 1 {k} MIN COUNT 0',
      'BZPOPMIN {k}:b {k} 0',
      'BZPOPMAX {k} 0.5',
      'EXISTS {k}',
      'BZPOPMIN {k} -1',
      'BZMPOP 0 1 {k} MIN COUNT 0',
      'ZADD {k} 1 a 2 b 3 c',
      'ZADD {k}:a 10 b 20 c 30 d',
      'ZUNIONSTORE {k}:d 2 {k} {k}:a',
      'ZRANGE {k}:d 0 -1 WITHSCORES',
      'ZUNIONSTORE {k}:d 2 {k} {k}:a WEIGHTS 2 0.5 AGGREGATE MAX',
      'ZRANGE {k}:d 0 -1 WITHSCORES',
      'ZINTERSTORE {k}:d 2 {k} {k}:a AGGREGATE MIN',
      'ZRANGE {k}:d 0 -1 WITHSCORES',
      'ZINTERSTORE {k}:d 2 {k} {k}:b',
      'EXISTS {k}:d',
      'ZUNIONSTORE {k}:d 0 {k}',
      'ZUNIONSTORE {k}:d 2 {k}',
      'ZUNIONSTORE {k}:d 1 {k} WEIGHTS x',
      'ZUNIONSTORE {k}:d 1 {k} AGGREGATE foo',
      'ZINTERSTORE {k}:d 1 {k} WITHSCORES',
      'ZUNION 2 {k} {k}:a WITHSCORES',
      'ZUNION 2 {k} {k}:a WEIGHTS 1 2 AGGREGATE MIN WITHSCORES WITHSCORES',
      'ZINTER 2 {k} {k}:a',
      'ZINTER 2 {k} {k}:b WITHSCORES',
      'ZDIFF 2 {k}:a {k} WITHSCORES',
      'ZDIFF 2 {k} {k}:a WEIGHTS 1 2',
      'ZDIFF 1 {k}:b',
      'ZDIFFSTORE {k}:d 2 {k}:a {k}',
      'ZRANGE {k}:d 0 -1 WITHSCORES',
      'ZINTERCARD 2 {k} {k}:a',
      'ZINTERCARD 2 {k} {k}:a LIMIT 1',
      'ZINTERCARD 2 {k} {k}:a LIMIT -1',
      'ZINTERCARD 3 {k} {k}:a',
      'ZINTERCARD 0 {k}',
      'ZUNION 0 {k}',
      'ZDIFFSTORE {k}:d 0 {k}',
      'ZSCAN {k} 0 MATCH [ab]',
      'ZSCAN {k} 0 COUNT 100',
      'ZSCAN {k} x',
      'ZSCAN {k} 0 COUNT 0',
      'ZSCAN {k}:b 0',
      'ZRANDMEMBER {k} 0',
      'ZRANDMEMBER {k} x',
      'ZRANDMEMBER {k} 1 2',
      'ZRANDMEMBER {k}:b',
      'ZRANDMEMBER {k}:b 2',
      'ZRANDMEMBER {k} 3 WITHSCORES',
    ]);
  });
});

describeVsReal('sorted-set replies that Redis randomises keep their shape', () => {
  it('ZRANDMEMBER returns distinct members for a positive count and repeats for a negative one', async () => {
    const conn: RawConnection = await embedded.connect();
    try {
      const key = `zset-rand-${process.pid}`;
      await conn.send(['ZADD', key, '1', 'a', '2', 'b', '3', 'c']);
      const distinct = await conn.send(['ZRANDMEMBER', key, '2']);
      const members = distinct.split('\r\n').filter((line) => /^[abc]$/.test(line));
      expect(new Set(members).size).toBe(2);
      const repeated = await conn.send(['ZRANDMEMBER', key, '-7', 'WITHSCORES']);
      expect(repeated.startsWith('*14\r\n')).toBe(true);
      await conn.send(['DEL', key]);
    } finally {
      conn.close();
    }
  });
});

describeVsReal('blocking sorted-set pops across connections', () => {
  it('serves BZPOPMIN waiters FIFO and times out with a null array, as redis-server', async () => {
    const key = `zset-block-${process.pid}-${++counter}`;
    const transcript = async (target: Target): Promise<string[]> => {
      const [a, b, pusher] = await Promise.all([target.connect(), target.connect(), target.connect()]);
      const out: string[] = [];
      try {
        out.push(await a.send(['BZPOPMIN', key, '0.05']));
        const first = a.send(['BZPOPMIN', key, '0']);
        await blocked(pusher, 1);
        const second = b.send(['BZPOPMAX', `${key}:x`, key, '0']);
        await blocked(pusher, 2);
        out.push(await pusher.send(['ZADD', key, '1', 'a', '2', 'b', '3', 'c']));
        out.push(await first, await second);
        out.push(await pusher.send(['ZRANGE', key, '0', '-1', 'WITHSCORES']));
        await pusher.send(['DEL', key]);
      } finally {
        for (const conn of [a, b, pusher]) conn.close();
      }
      return out;
    };
    const expected = await transcript(real);
    expect(await transcript(embedded)).toEqual(expected);
  });
});

async function blocked(conn: RawConnection, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const info = await conn.send(['INFO', 'clients']);
    const match = /blocked_clients:(\d+)/.exec(info);
    if (match === null || Number(match[1]) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} blocked clients`);
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** LISTS_SEED=n replays another sequence. */
describeVsReal('random sorted-set command sequences', () => {
  it('give the same replies on both servers (300 commands over 3 keys, RESP2 and RESP3)', async () => {
    for (const protocol of [2, 3] as const) {
      const random = seeded(Number(process.env.LISTS_SEED ?? 7_000) + protocol);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const keys = ['{k}', '{k}:a', '{k}:b'];
      const members = ['a', 'b', 'c', 'd', 'e'];
      const scores = ['0', '1', '1.5', '-2', '0.1', '+inf', '-inf', '3e2'];
      const bound = () => pick(['-inf', '+inf', '0', '(1', '1.5', '(0.1', '2']);
      const lex = () => pick(['-', '+', '[a', '(b', '[c', '(e']);
      const rank = () => String(Math.floor(random() * 7) - 3);
      const generators: (() => string)[] = [
        () =>
          `ZADD ${pick(keys)} ${pick(['', 'NX ', 'XX ', 'GT ', 'LT CH ', 'CH '])}${pick(scores)} ${pick(members)} ${pick(scores)} ${pick(members)}`,
        () => `ZINCRBY ${pick(keys)} ${pick(scores)} ${pick(members)}`,
        () => `ZREM ${pick(keys)} ${pick(members)} ${pick(members)}`,
        () => `ZSCORE ${pick(keys)} ${pick(members)}`,
        () => `ZRANK ${pick(keys)} ${pick(members)}`,
        () => `ZREVRANK ${pick(keys)} ${pick(members)}`,
        () => `ZCOUNT ${pick(keys)} ${bound()} ${bound()}`,
        // Lexicographic ranges are only specified when all scores are equal: their own key.
        () => `ZADD {k}:l 0 ${pick(members)}`,
        () => `ZREM {k}:l ${pick(members)}`,
        () => `ZLEXCOUNT {k}:l ${lex()} ${lex()}`,
        () => `ZREMRANGEBYLEX {k}:l ${lex()} ${lex()}`,
        () =>
          `ZRANGE ${pick(keys)} ${rank()} ${rank()}${pick(['', ' REV', ' WITHSCORES', ' REV WITHSCORES'])}`,
        () =>
          `ZRANGE ${pick(keys)} ${bound()} ${bound()} BYSCORE${pick(['', ' REV'])} LIMIT ${pick(['0', '1'])} ${pick(['-1', '1', '2'])} WITHSCORES`,
        () => `ZRANGE {k}:l ${lex()} ${lex()} BYLEX${pick(['', ' REV'])} LIMIT 0 ${pick(['-1', '2'])}`,
        () => `ZREMRANGEBYSCORE ${pick(keys)} ${bound()} ${bound()}`,
        () => `ZREMRANGEBYRANK ${pick(keys)} ${rank()} ${rank()}`,
        () => `ZPOPMIN ${pick(keys)}${pick(['', ' 2'])}`,
        () => `ZPOPMAX ${pick(keys)}${pick(['', ' 0', ' 3'])}`,
        () => `ZMPOP 2 ${pick(keys)} ${pick(keys)} ${pick(['MIN', 'MAX'])} COUNT 2`,
        () =>
          `ZUNIONSTORE ${pick(keys)} 2 ${pick(keys)} ${pick(keys)} AGGREGATE ${pick(['SUM', 'MIN', 'MAX'])}`,
        () => `ZINTER 2 ${pick(keys)} ${pick(keys)} WITHSCORES`,
        () => `ZRANGESTORE ${pick(keys)} ${pick(keys)} ${rank()} ${rank()}`,
        () => `ZCARD ${pick(keys)}`,
      ];
      await same(
        Array.from({ length: 300 }, () => pick(generators)()),
        protocol,
      );
    }
  });
});
