import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RawConnection } from './lists-harness.js';
import { canCompare, describeVsReal, embeddedTarget, realTarget, type Target } from './lists-targets.js';

/**
 * The list commands replayed on a real redis-server and on the embedded server: reply bytes must
 * be equal, errors included.
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

function fill(args: readonly string[], prefix: string): string[] {
  return args.map((arg) => arg.replaceAll('{k}', prefix));
}

/** Runs `steps` on one connection of each server; returns both transcripts. */
async function replay(
  steps: readonly (readonly string[])[],
  protocol: 2 | 3 = 2,
): Promise<[string[], string[]]> {
  const prefix = `lists-diff-${process.pid}-${++counter}`;
  const run = async (target: Target): Promise<string[]> => {
    const conn = await target.connect();
    try {
      if (protocol === 3) await conn.send(['HELLO', '3']);
      const out: string[] = [];
      for (const step of steps) out.push(`${step.join(' ')} → ${await conn.send(fill(step, prefix))}`);
      return out;
    } finally {
      conn.send(fill(['DEL', '{k}', '{k}:a', '{k}:b', '{k}:c', '{k}:s'], prefix)).catch(() => undefined);
      setTimeout(() => conn.close(), 50).unref();
    }
  };
  return Promise.all([run(real), run(embedded)]);
}

async function same(steps: readonly (readonly string[])[], protocol: 2 | 3 = 2): Promise<void> {
  const [expected, actual] = await replay(steps, protocol);
  if (process.env.LISTS_SHOW) console.log(actual.join(''));
  expect(actual).toEqual(expected);
}

const c = (line: string): string[] => line.split(' ');

describeVsReal('list replies match redis-server byte for byte', () => {
  it('pushes, pops with and without COUNT, lengths and ranges', async () => {
    await same(
      [
        'LPUSH {k} a b c',
        'RPUSH {k} d e',
        'LPUSHX {k}:a x',
        'RPUSHX {k} f',
        'LLEN {k}',
        'LRANGE {k} 0 -1',
        'LRANGE {k} -100 100',
        'LRANGE {k} 3 1',
        'LRANGE {k} 9223372036854775807 -9223372036854775808',
        'LPOP {k}',
        'RPOP {k} 2',
        'LPOP {k} 0',
        'LPOP {k}:a',
        'LPOP {k}:a 2',
        'LPOP {k} -1',
        'LPOP {k} 1 2',
        'RPOP {k} 100',
        'EXISTS {k}',
        'LRANGE {k} 0 x',
        'LLEN {k}',
      ].map(c),
    );
  });

  it('LINDEX, LSET, LINSERT, LREM, LTRIM and their errors', async () => {
    await same(
      [
        'RPUSH {k} a b a c a',
        'LINDEX {k} 0',
        'LINDEX {k} -1',
        'LINDEX {k} 10',
        'LINDEX {k} x',
        'LSET {k} 1 B',
        'LSET {k} -1 C',
        'LSET {k} 9 z',
        'LSET {k}:a 0 z',
        'LINSERT {k} BEFORE a x',
        'LINSERT {k} after c y',
        'LINSERT {k} before nope y',
        'LINSERT {k}:a before a y',
        'LINSERT {k} middle a y',
        'LRANGE {k} 0 -1',
        'LREM {k} -1 a',
        'LRANGE {k} 0 -1',
        'LREM {k} 1 a',
        'LREM {k} 0 x',
        'LREM {k} x a',
        'LRANGE {k} 0 -1',
        'LTRIM {k} 1 -2',
        'LRANGE {k} 0 -1',
        'LTRIM {k} 5 1',
        'EXISTS {k}',
        'LTRIM {k} a 1',
      ].map(c),
    );
  });

  it('LPOS with RANK, COUNT and MAXLEN', async () => {
    await same(
      [
        'RPUSH {k} a b c a b c a',
        'LPOS {k} a',
        'LPOS {k} a RANK 2',
        'LPOS {k} a RANK -1',
        'LPOS {k} a RANK -2 COUNT 0',
        'LPOS {k} a COUNT 0',
        'LPOS {k} a COUNT 2 RANK 2',
        'LPOS {k} c COUNT 0 MAXLEN 3',
        'LPOS {k} c RANK -1 MAXLEN 1',
        'LPOS {k} z',
        'LPOS {k} z COUNT 1',
        'LPOS {k}:a a',
        'LPOS {k}:a a COUNT 0',
        'LPOS {k} a RANK 0',
        'LPOS {k} a COUNT -1',
        'LPOS {k} a MAXLEN -1',
        'LPOS {k} a RANK',
        'LPOS {k} a FOO 1',
        'LPOS {k} a RANK -9223372036854775808',
        'LPOS {k} a RANK -9223372036854775808 COUNT 0',
        'LPOS {k} a RANK 9223372036854775807',
      ].map(c),
    );
  });

  it('LMOVE, RPOPLPUSH and LMPOP, including rotation, wrong types and syntax errors', async () => {
    await same(
      [
        'RPUSH {k} a b c',
        'SET {k}:s x',
        'LMOVE {k} {k}:a RIGHT LEFT',
        'LMOVE {k} {k}:a left right',
        'LMOVE {k} {k} LEFT RIGHT',
        'LRANGE {k} 0 -1',
        'LRANGE {k}:a 0 -1',
        'LMOVE {k} {k}:s LEFT LEFT',
        'LMOVE {k}:s {k} LEFT LEFT',
        'LMOVE {k}:b {k} LEFT LEFT',
        'LMOVE {k} {k}:a UP LEFT',
        'RPOPLPUSH {k} {k}:a',
        'EXISTS {k}',
        'RPOPLPUSH {k}:a {k}:a',
        'LRANGE {k}:a 0 -1',
        'LMPOP 2 {k} {k}:a LEFT COUNT 2',
        'LMPOP 2 {k} {k}:a RIGHT COUNT 10',
        'LMPOP 1 {k} LEFT',
        'LMPOP 0 {k} LEFT',
        'LMPOP 2 {k} LEFT',
        'LMPOP 1 {k} MIDDLE',
        'LMPOP 1 {k} LEFT COUNT 0',
        'LMPOP 1 {k} LEFT COUNT 1 COUNT 1',
        'LMPOP x {k} LEFT',
        'LPUSH {k}:s a',
        'LRANGE {k}:s 0 1',
      ].map(c),
    );
  });

  it('blocking commands answer at once when data is there, and reject bad timeouts', async () => {
    await same(
      [
        'RPUSH {k}:a x y',
        'BLPOP {k} {k}:a 0',
        'BRPOP {k} {k}:a 1',
        'RPUSH {k} a b c',
        'BLMOVE {k} {k}:a RIGHT LEFT 0',
        'BRPOPLPUSH {k} {k}:a 0',
        'BLMPOP 0 2 {k}:b {k} LEFT COUNT 5',
        'BLPOP {k} -1',
        'BLPOP {k} x',
        'BLPOP {k} inf',
        'BLPOP {k} 1e20',
        'BLPOP {k} 9223372036854775807',
        'BLMOVE {k} {k}:a UP LEFT 0',
        'BLMPOP 0 1 {k} LEFT COUNT 0',
        'SET {k}:s x',
        'BLPOP {k}:s 0',
      ].map(c),
    );
  });

  it('blocking commands inside MULTI and scripts answer at once, as on a timeout', async () => {
    await same(
      [
        'MULTI',
        'BLPOP {k} 0',
        'BLMOVE {k} {k}:a LEFT LEFT 0',
        'BRPOPLPUSH {k} {k}:a 0',
        'BLMPOP 0 1 {k} LEFT',
        'BZPOPMIN {k}:b 0',
        'RPUSH {k} x',
        'BLPOP {k} 0',
        'EXEC',
        'EVAL return~redis.call("LMOVE",KEYS[1],KEYS[2],"RIGHT","LEFT") 2 {k} {k}:a',
        'RPUSH {k} y',
        'EVAL return~redis.call("LMOVE",KEYS[1],KEYS[2],"RIGHT","LEFT") 2 {k} {k}:a',
        'EVAL return~redis.call("LPOS",KEYS[1],"nope") 1 {k}:a',
        'ZADD {k}:b 1.1 m 2 n',
        'EVAL return~redis.call("ZRANGE",KEYS[1],0,0,"WITHSCORES") 1 {k}:b',
        'EVAL return~redis.call("ZSCORE",KEYS[1],"n") 1 {k}:b',
        'EVAL return~redis.call("BLPOP",KEYS[1],0) 1 {k}',
        'EVAL return~redis.call("SUBSCRIBE","x") 0',
      ].map((line) => line.split(' ').map((arg) => arg.replaceAll('~', ' '))),
    );
  });

  it('RESP3 null replies', async () => {
    await same(
      [
        'LPOP {k}',
        'LPOP {k} 2',
        'LPOS {k} a',
        'LINDEX {k} 0',
        'LMPOP 1 {k} LEFT',
        'LMOVE {k} {k}:a LEFT LEFT',
      ].map(c),
      3,
    );
  });
});

/** Runs `script` against both servers with several connections each; compares transcripts. */
async function sameAcross(
  connections: number,
  script: (
    conns: RawConnection[],
    key: (suffix?: string) => string,
    log: (line: string) => void,
  ) => Promise<void>,
): Promise<void> {
  const prefix = `lists-block-${process.pid}-${++counter}`;
  const run = async (target: Target): Promise<string[]> => {
    const conns = await Promise.all(Array.from({ length: connections }, () => target.connect()));
    const out: string[] = [];
    try {
      await script(
        conns,
        (suffix = '') => `${prefix}${suffix}`,
        (line) => out.push(line),
      );
    } finally {
      for (const conn of conns) conn.close();
    }
    return out;
  };
  const expected = await run(real);
  const actual = await run(embedded);
  expect(actual).toEqual(expected);
}

describeVsReal('blocking list commands across connections match redis-server', () => {
  it('serves waiters on one key in the order they blocked (FIFO)', async () => {
    await sameAcross(4, async ([a, b, c, pusher], key, log) => {
      const first = a?.send(['BLPOP', key(), '0']) as Promise<string>;
      await waitForBlocked(pusher as RawConnection, 1);
      const second = b?.send(['BRPOP', key('other'), key(), '0']) as Promise<string>;
      await waitForBlocked(pusher as RawConnection, 2);
      const third = c?.send(['BLMOVE', key(), key('dst'), 'LEFT', 'RIGHT', '0']) as Promise<string>;
      await waitForBlocked(pusher as RawConnection, 3);
      // One push of two elements serves the two longest-waiting clients, in order.
      log(await (pusher as RawConnection).send(['RPUSH', key(), 'one', 'two']));
      log(await first);
      log(await second);
      log(await (pusher as RawConnection).send(['LPUSH', key(), 'three']));
      log(await third);
      log(await (pusher as RawConnection).send(['LRANGE', key('dst'), '0', '-1']));
      log(await (pusher as RawConnection).send(['EXISTS', key()]));
    });
  });

  it('times out with a null reply, and a waiter that disconnected is skipped', async () => {
    await sameAcross(3, async ([a, b, pusher], key, log) => {
      log(await (a as RawConnection).send(['BLPOP', key(), '0.05']));
      log(await (a as RawConnection).send(['BLMOVE', key(), key('d'), 'LEFT', 'LEFT', '0.05']));
      log(await (a as RawConnection).send(['BLMPOP', '0.05', '1', key(), 'LEFT']));
      void (a as RawConnection).send(['BLPOP', key(), '0']).catch(() => undefined);
      await waitForBlocked(pusher as RawConnection, 1);
      const waiting = (b as RawConnection).send(['BLPOP', key(), '0']);
      await waitForBlocked(pusher as RawConnection, 2);
      (a as RawConnection).close();
      await waitForBlocked(pusher as RawConnection, 1);
      log(await (pusher as RawConnection).send(['RPUSH', key(), 'x']));
      log(await waiting);
    });
  });
});

/** Polls until `count` clients are blocked (CLIENT LIST on a real server; the stand-in needs none). */
async function waitForBlocked(conn: RawConnection, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const info = await conn.send(['INFO', 'clients']);
    const match = /blocked_clients:(\d+)/.exec(info);
    if (match === null) return; // the stand-in serves synchronously: nothing to wait for
    if (Number(match[1]) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} blocked clients`);
}

/** A deterministic pseudo-random generator, so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** LISTS_SEED=n replays another sequence. */
describeVsReal('random list command sequences', () => {
  it('give the same replies on both servers (300 commands over 3 keys)', async () => {
    const random = seeded(Number(process.env.LISTS_SEED ?? 20_260_123));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const keys = ['{k}', '{k}:a', '{k}:b'];
    const values = ['a', 'b', 'c', ''];
    const index = () => String(Math.floor(random() * 9) - 4);
    const end = () => pick(['LEFT', 'RIGHT']);
    const generators: (() => string[])[] = [
      () => ['LPUSH', pick(keys), pick(values), pick(values)],
      () => ['RPUSH', pick(keys), pick(values)],
      () => ['LPUSHX', pick(keys), pick(values)],
      () => ['LPOP', pick(keys)],
      () => ['RPOP', pick(keys), String(Math.floor(random() * 3))],
      () => ['LRANGE', pick(keys), index(), index()],
      () => ['LINDEX', pick(keys), index()],
      () => ['LSET', pick(keys), index(), pick(values)],
      () => ['LINSERT', pick(keys), pick(['BEFORE', 'AFTER']), pick(values), 'x'],
      () => ['LREM', pick(keys), index(), pick(values)],
      () => ['LTRIM', pick(keys), index(), index()],
      () => [
        'LPOS',
        pick(keys),
        pick(values),
        'RANK',
        pick(['1', '-1', '2']),
        'COUNT',
        pick(['0', '1', '2']),
      ],
      () => ['LMOVE', pick(keys), pick(keys), end(), end()],
      () => ['LMPOP', '2', pick(keys), pick(keys), end(), 'COUNT', String(1 + Math.floor(random() * 3))],
      () => ['LLEN', pick(keys)],
    ];
    await same(Array.from({ length: 300 }, () => pick(generators)()));
  });
});
