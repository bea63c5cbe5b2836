import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, realRedisSuite, startRedis } from '../../testing/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';
import { rawConnection } from './streams-harness.js';

/**
 * The stream commands replayed on a real redis-server and on the embedded server: the reply bytes
 * must be equal, errors included. Ids are explicit and times are masked (idle times, delivery and
 * seen times), so the comparison is exact wherever Redis itself is deterministic.
 */

let real: RedisServer;
let embedded: EmbeddedRedis;
let realPort = 0;
let counter = 0;

const suite = realRedisSuite(
  'streams: replies equal to redis-server 7.0',
  'the reference replies the embedded server is compared with',
);

beforeAll(async () => {
  if (suite.skip) return;
  [real, embedded] = await Promise.all([startRedis({ server: 'real' }), startEmbeddedRedis()]);
  realPort = Number(new URL(real.url).port);
}, 30_000);

afterAll(async () => {
  await Promise.all([real?.stop(), embedded?.close()]);
});

type Step = readonly string[];

/** Masks what depends on the moment a command ran. */
function mask(reply: string): string {
  return (
    reply
      // XPENDING extended entries: id, consumer, idle, count.
      .replace(/(\*4\r\n\$\d+\r\n[0-9]+-[0-9]+\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n/g, '$1:IDLE\r\n')
      // XINFO CONSUMERS idle; absolute times (delivery, seen) of XINFO STREAM FULL.
      .replace(/(\$4\r\nidle\r\n):\d+\r\n/g, '$1:IDLE\r\n')
      .replace(/:1\d{12}\r\n/g, ':TIME\r\n')
      // The radix tree's inner node count is Redis's internal layout.
      .replace(/(\$16\r\nradix-tree-nodes\r\n):\d+\r\n/g, '$1:N\r\n')
  );
}

function fill(step: Step, prefix: string): string[] {
  return step.map((arg) => arg.replaceAll('{k}', prefix));
}

/** Runs `steps` on one connection to each server; returns both transcripts. */
async function replay(steps: readonly Step[], protocol: 2 | 3 = 2): Promise<[string[], string[]]> {
  const prefix = `streams-diff-${process.pid}-${++counter}`;
  const run = async (port: number): Promise<string[]> => {
    const conn = await rawConnection(port);
    try {
      if (protocol === 3) await conn.send(['HELLO', '3']);
      const out: string[] = [];
      for (const step of steps) {
        const reply = await conn.send(fill(step, prefix));
        out.push(`${step.join(' ')} → ${mask(reply).replaceAll(prefix, '{k}')}`);
      }
      return out;
    } finally {
      await conn.send(fill(['DEL', '{k}', '{k}:2', '{k}:s'], prefix));
      conn.close();
    }
  };
  return Promise.all([run(realPort), run(embedded.port)]);
}

async function same(steps: readonly Step[], protocol: 2 | 3 = 2): Promise<void> {
  const [expected, actual] = await replay(steps, protocol);
  expect(actual).toEqual(expected);
}

const fill3 = (n: number, from = 1): Step[] =>
  Array.from({ length: n }, (_, i) => ['XADD', '{k}', `${from + i}-1`, 'f', `v${from + i}`]);

describe.skipIf(suite.skip)(suite.title, () => {
  it('XADD ids, options and errors', async () => {
    await same([
      ['XADD', '{k}', '1-1', 'a', '1'],
      ['XADD', '{k}', '1-1', 'a', '1'],
      ['XADD', '{k}', '1-*', 'a', '2'],
      ['XADD', '{k}', '1', 'a', '3'],
      ['XADD', '{k}', '2-*', 'a', '2'],
      ['XADD', '{k}', '0-0', 'a', '1'],
      ['XADD', '{k}', '0', 'a', '1'],
      ['XADD', '{k}', '0-*', 'a', '1'],
      ['XADD', '{k}', 'abc', 'a', '1'],
      ['XADD', '{k}', '5-x', 'a', '1'],
      ['XADD', '{k}', '-', 'a', '1'],
      ['XADD', '{k}', '+', 'a', '1'],
      ['XADD', '{k}', '007-01', 'a', '1'],
      ['XADD', '{k}', '-5', 'a', '1'],
      ['XADD', '{k}', '9', 'a'],
      ['XADD', '{k}', '9', 'a', '1', 'b'],
      ['XADD', '{k}', 'NOMKSTREAM', '10-1', 'a', '1'],
      ['XADD', '{k}:2', 'NOMKSTREAM', '*', 'a', '1'],
      ['XLEN', '{k}:2'],
      ['XADD', '{k}', 'MAXLEN', '-1', '*', 'a', '1'],
      ['XADD', '{k}', 'MAXLEN', 'x', '*', 'a', '1'],
      ['XADD', '{k}', 'LIMIT', '10', '*', 'a', '1'],
      ['XADD', '{k}', 'MAXLEN', '1', 'LIMIT', '10', '*', 'a', '1'],
      ['XADD', '{k}', 'MAXLEN', '~', '1', 'LIMIT', '-1', '*', 'a', '1'],
      ['XADD', '{k}', 'MAXLEN', '1', 'MINID', '1', '*', 'a', '1'],
      ['XADD', '{k}', 'MINID', 'x', '*', 'a', '1'],
      ['XADD', '{k}', 'MAXLEN', '=', '2', '20-1', 'a', '1', 'b', '2'],
      ['XRANGE', '{k}', '-', '+'],
      ['XADD', '{k}', 'MINID', '=', '15', '21-1', 'a', '1'],
      ['XRANGE', '{k}', '-', '+'],
      ['XADD', '{k}', '18446744073709551615-18446744073709551614', 'a', '1'],
      ['XADD', '{k}', '18446744073709551615-*', 'a', '1'],
      ['XADD', '{k}', '18446744073709551615-*', 'a', '1'],
      ['XADD', '{k}', '18446744073709551616-1', 'a', '1'],
      ['XLEN', '{k}'],
      ['SET', '{k}:s', 'x'],
      ['XADD', '{k}:s', '*', 'a', '1'],
      ['XLEN', '{k}:s'],
      ['XRANGE', '{k}:s', '-', '+'],
    ]);
  });

  it('XRANGE and XREVRANGE bounds, COUNT and errors', async () => {
    await same([
      ...fill3(6),
      ['XRANGE', '{k}', '-', '+'],
      ['XRANGE', '{k}', '2', '4'],
      ['XRANGE', '{k}', '(2-1', '(5-1'],
      ['XRANGE', '{k}', '2-1', '2-1'],
      ['XRANGE', '{k}', '(2-1', '2-1'],
      ['XRANGE', '{k}', '-', '+', 'COUNT', '2'],
      ['XRANGE', '{k}', '-', '+', 'count', '0'],
      ['XRANGE', '{k}', '-', '+', 'COUNT', '-3'],
      ['XRANGE', '{k}', '-', '+', 'COUNT'],
      ['XRANGE', '{k}', '-', '+', 'COUNT', 'x'],
      ['XRANGE', '{k}', '-', '+', 'LIMIT', '1'],
      ['XRANGE', '{k}', '(-', '+'],
      ['XRANGE', '{k}', '-', '(+'],
      ['XRANGE', '{k}', '(18446744073709551615-18446744073709551615', '+'],
      ['XRANGE', '{k}', '-', '(0-0'],
      ['XRANGE', '{k}', '5', '2'],
      ['XREVRANGE', '{k}', '+', '-'],
      ['XREVRANGE', '{k}', '+', '-', 'COUNT', '2'],
      ['XREVRANGE', '{k}', '(5-1', '(2-1'],
      ['XREVRANGE', '{k}', '4', '4'],
      ['XRANGE', '{k}:2', '-', '+'],
      ['XRANGE', '{k}:2', '-', '+', 'COUNT', '0'],
      ['XREVRANGE', '{k}:2', '+', '-'],
      ['XRANGE', '{k}', 'x', '+'],
    ]);
  });

  it('XDEL, XLEN, XTRIM exact and approximate', async () => {
    const many: Step[] = Array.from({ length: 250 }, (_, i) => [
      'XADD',
      '{k}:2',
      `${i + 1}-0`,
      'f',
      String(i),
    ]);
    await same([
      ...fill3(8),
      ['XDEL', '{k}', '2-1', '3-1', '99-1'],
      ['XDEL', '{k}', '2-1'],
      ['XDEL', '{k}', 'bad'],
      ['XDEL', '{k}:s', '1-1'],
      ['XLEN', '{k}'],
      ['XLEN', '{k}:s'],
      ['XTRIM', '{k}', 'MAXLEN', '4'],
      ['XRANGE', '{k}', '-', '+'],
      ['XTRIM', '{k}', 'MINID', '7'],
      ['XRANGE', '{k}', '-', '+'],
      ['XTRIM', '{k}', 'MINID', '=', '7-1'],
      ['XTRIM', '{k}', 'MAXLEN', '0'],
      ['XLEN', '{k}'],
      ['XTRIM', '{k}', 'FOO', '1'],
      ['XTRIM', '{k}', 'MAXLEN', '1', 'LIMIT', '5'],
      ['XTRIM', '{k}', 'MAXLEN', '~', '1', 'LIMIT', '5'],
      ['XTRIM', '{k}:s', 'MAXLEN', '1'],
      ...many,
      ['XTRIM', '{k}:2', 'MAXLEN', '~', '120'],
      ['XLEN', '{k}:2'],
      ['XTRIM', '{k}:2', 'MAXLEN', '~', '10', 'LIMIT', '50'],
      ['XLEN', '{k}:2'],
      ['XTRIM', '{k}:2', 'MINID', '~', '230'],
      ['XLEN', '{k}:2'],
      ['XTRIM', '{k}:2', 'MINID', '~', '230', 'LIMIT', '0'],
      ['XTRIM', '{k}:2', 'MAXLEN', '~', '10', 'LIMIT', '0'],
      ['XLEN', '{k}:2'],
      ['XADD', '{k}:2', 'MAXLEN', '~', '5', '1000-0', 'f', 'v'],
      ['XLEN', '{k}:2'],
      ['XINFO', 'STREAM', '{k}:2'],
    ]);
  });

  it('XGROUP subcommands', async () => {
    await same([
      ['XGROUP', 'CREATE', '{k}', 'g', '$'],
      ['XGROUP', 'CREATE', '{k}', 'g', '$', 'MKSTREAM'],
      ['XGROUP', 'CREATE', '{k}', 'g', '$', 'MKSTREAM'],
      ['XGROUP', 'CREATE', '{k}', 'g2', '0', 'ENTRIESREAD', '-5'],
      ['XGROUP', 'CREATE', '{k}', 'g2', '0', 'ENTRIESREAD', '3'],
      ['XGROUP', 'CREATE', '{k}', 'g3', '0', 'FOO'],
      ['XGROUP', 'CREATE', '{k}', 'g3', 'bad'],
      ['XGROUP', 'CREATE', '{k}', 'g3', '-'],
      ['XGROUP', 'CREATE', '{k}', 'g3'],
      ['XGROUP', 'FOO', '{k}', 'g'],
      ['XGROUP', 'SETID', '{k}', 'nog', '0'],
      ['XGROUP', 'SETID', '{k}', 'g', '+'],
      ['XGROUP', 'SETID', '{k}', 'g', '5-5', 'ENTRIESREAD', '2'],
      ['XGROUP', 'SETID', '{k}', 'g', '5-5', 'FOO', '2'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XGROUP', 'CREATECONSUMER', '{k}', 'g', 'alice'],
      ['XGROUP', 'CREATECONSUMER', '{k}', 'g', 'alice'],
      ['XGROUP', 'CREATECONSUMER', '{k}', 'nog', 'alice'],
      ['XGROUP', 'DELCONSUMER', '{k}', 'g', 'bob'],
      ['XGROUP', 'DELCONSUMER', '{k}', 'g', 'alice'],
      ['XGROUP', 'DESTROY', '{k}', 'g'],
      ['XGROUP', 'DESTROY', '{k}', 'g'],
      ['XGROUP', 'DESTROY', '{k}:2', 'g'],
      ['XGROUP', 'DESTROY', '{k}', 'g', 'x'],
      ['XGROUP', 'HELP'],
      ['SET', '{k}:s', 'x'],
      ['XGROUP', 'CREATE', '{k}:s', 'g', '$'],
    ]);
  });

  it('XREADGROUP, XACK, XPENDING and XINFO', async () => {
    await same([
      ...fill3(5),
      ['XGROUP', 'CREATE', '{k}', 'g', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '2', 'STREAMS', '{k}', '>'],
      ['XREADGROUP', 'GROUP', 'g', 'bob', 'COUNT', '1', 'STREAMS', '{k}', '>'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', '{k}', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '1', 'STREAMS', '{k}', '1-1'],
      ['XPENDING', '{k}', 'g'],
      ['XPENDING', '{k}', 'g', '-', '+', '10'],
      ['XPENDING', '{k}', 'g', '-', '+', '10', 'bob'],
      ['XPENDING', '{k}', 'g', '-', '+', '10', 'nobody'],
      ['XPENDING', '{k}', 'g', '(1-1', '+', '1'],
      ['XPENDING', '{k}', 'g', 'IDLE', '100000', '-', '+', '10'],
      ['XPENDING', '{k}', 'g', '-', '+'],
      ['XPENDING', '{k}', 'g', 'IDLE', '10', '-', '+'],
      ['XPENDING', '{k}', 'g', '-', '+', 'x'],
      ['XPENDING', '{k}', 'nog'],
      ['XPENDING', '{k}:2', 'g'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XINFO', 'CONSUMERS', '{k}', 'g'],
      ['XACK', '{k}', 'g', '1-1', '9-9'],
      ['XACK', '{k}', 'g', 'bad'],
      ['XACK', '{k}', 'nog', '1-1'],
      ['XACK', '{k}:2', 'g', '1-1'],
      ['XREADGROUP', 'GROUP', 'g', 'carol', 'NOACK', 'STREAMS', '{k}', '>'],
      ['XREADGROUP', 'GROUP', 'g', 'carol', 'STREAMS', '{k}', '>'],
      ['XPENDING', '{k}', 'g'],
      ['XDEL', '{k}', '2-1'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', '{k}', '0'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XINFO', 'STREAM', '{k}'],
      ['XINFO', 'STREAM', '{k}', 'FULL'],
      ['XINFO', 'STREAM', '{k}', 'FULL', 'COUNT', '1'],
      ['XINFO', 'STREAM', '{k}', 'FULL', 'COUNT'],
      ['XINFO', 'STREAM', '{k}', 'FOO'],
      ['XINFO', 'STREAM', '{k}:2'],
      ['XINFO', 'CONSUMERS', '{k}', 'nog'],
      ['XINFO', 'FOO', '{k}'],
      ['XINFO', 'HELP'],
    ]);
  });

  it('XREAD and XREADGROUP argument errors and multiple streams', async () => {
    await same([
      ...fill3(3),
      ['XADD', '{k}:2', '5-1', 'x', 'y'],
      ['XREAD', 'STREAMS', '{k}', '{k}:2', '0', '0'],
      ['XREAD', 'COUNT', '1', 'STREAMS', '{k}', '{k}:2', '1-1', '0'],
      ['XREAD', 'STREAMS', '{k}', '{k}:2', '$', '$'],
      ['XREAD', 'STREAMS', '{k}', '{k}:2', '3-1', '0'],
      ['XREAD', 'STREAMS', '{k}:s', '0'],
      ['XREAD', 'COUNT', '1', 'STREAMS', '{k}', '0', '0'],
      ['XREAD', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '0'],
      ['XREAD', 'NOACK', 'STREAMS', '{k}', '0'],
      ['XREAD', 'STREAMS', '{k}', '>'],
      ['XREAD', 'BLOCK', '-1', 'STREAMS', '{k}', '0'],
      ['XREAD', 'BLOCK', 'x', 'STREAMS', '{k}', '0'],
      ['XREAD', 'COUNT', 'x', 'STREAMS', '{k}', '0'],
      ['XREAD', 'FOO', 'STREAMS', '{k}', '0'],
      ['XREAD', 'COUNT', '1', '{k}', '0'],
      ['XREAD', 'STREAMS', '{k}', 'bad'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '>'],
      ['XGROUP', 'CREATE', '{k}', 'g', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '$'],
      ['XREADGROUP', 'COUNT', '1', 'STREAMS', '{k}', '>'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '{k}:2', '>', '>'],
      ['XGROUP', 'CREATE', '{k}:2', 'g', '$'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '{k}:2', '>', '>'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '{k}:2', '>', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '10', 'STREAMS', '{k}', '>'],
      ['XINFO', 'CONSUMERS', '{k}:2', 'g'],
    ]);
  });

  it('XCLAIM options and deleted entries', async () => {
    await same([
      ...fill3(5),
      ['XGROUP', 'CREATE', '{k}', 'g', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', '{k}', '>'],
      ['XCLAIM', '{k}', 'g', 'bob', '0', '1-1', '2-1'],
      ['XCLAIM', '{k}', 'g', 'bob', '3600000', '3-1'],
      ['XCLAIM', '{k}', 'g', 'bob', '0', '3-1', 'JUSTID'],
      ['XCLAIM', '{k}', 'g', 'bob', '0', '4-1', 'RETRYCOUNT', '7', 'JUSTID'],
      ['XCLAIM', '{k}', 'g', 'bob', '0', '9-1'],
      ['XCLAIM', '{k}', 'g', 'bob', '0', '9-1', 'FORCE'],
      ['XDEL', '{k}', '5-1'],
      ['XCLAIM', '{k}', 'g', 'bob', '0', '5-1'],
      ['XPENDING', '{k}', 'g', '-', '+', '10'],
      ['XADD', '{k}', '6-1', 'f', 'v6'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '6-1', 'FORCE'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '6-1', 'FORCE', 'JUSTID'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '1-1', 'LASTID', '9-9', 'JUSTID'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '1-1', 'IDLE', '5000', 'TIME', '1', 'JUSTID'],
      ['XCLAIM', '{k}', 'g', 'carol', 'x', '1-1'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '1-1', 'IDLE', 'x'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '1-1', 'TIME', 'x'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '1-1', 'RETRYCOUNT', 'x'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '1-1', 'LASTID', 'x'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', '1-1', 'FOO'],
      ['XCLAIM', '{k}', 'g', 'carol', '0', 'FOO'],
      ['XCLAIM', '{k}', 'nog', 'carol', '0', '1-1'],
      ['XCLAIM', '{k}:2', 'g', 'carol', '0', '1-1'],
      ['XPENDING', '{k}', 'g'],
      ['XINFO', 'CONSUMERS', '{k}', 'g'],
    ]);
  });

  it('XAUTOCLAIM cursor, COUNT, JUSTID and deleted ids', async () => {
    await same([
      ...fill3(8),
      ['XGROUP', 'CREATE', '{k}', 'g', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', '{k}', '>'],
      ['XDEL', '{k}', '2-1', '3-1', '7-1'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '3600000', '0'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '0', 'COUNT', '2'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '5-1', 'COUNT', '2', 'JUSTID'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '(5-1', 'COUNT', '1'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '-'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '+'],
      ['XPENDING', '{k}', 'g', '-', '+', '10'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '0', 'COUNT', '0'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '0', 'COUNT', 'x'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '0', 'FOO'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', 'x', '0'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', 'x'],
      ['XAUTOCLAIM', '{k}', 'g', 'bob', '0', '(18446744073709551615-18446744073709551615'],
      ['XAUTOCLAIM', '{k}', 'nog', 'bob', '0', '0'],
      ['XAUTOCLAIM', '{k}:2', 'g', 'bob', '0', '0'],
      ['XINFO', 'CONSUMERS', '{k}', 'g'],
    ]);
  });

  it('lag and entries-read through deletions, trims and SETID', async () => {
    await same([
      ...fill3(5),
      ['XGROUP', 'CREATE', '{k}', 'g', '0'],
      ['XGROUP', 'CREATE', '{k}', 'late', '$'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '2', 'STREAMS', '{k}', '>'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XDEL', '{k}', '4-1'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', '{k}', '>'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '>'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XDEL', '{k}', '1-1'],
      ['XGROUP', 'SETID', '{k}', 'g', '0'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XGROUP', 'SETID', '{k}', 'g', '0', 'ENTRIESREAD', '0'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XTRIM', '{k}', 'MAXLEN', '1'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XINFO', 'STREAM', '{k}'],
      ['XADD', '{k}', '10-1', 'f', 'v'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XTRIM', '{k}', 'MAXLEN', '0'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XINFO', 'STREAM', '{k}'],
    ]);
  });

  it('XSETID', async () => {
    await same([
      ['XSETID', '{k}', '5-5'],
      ...fill3(3),
      ['XSETID', '{k}', '1-1'],
      ['XSETID', '{k}', '9-9'],
      ['XINFO', 'STREAM', '{k}'],
      ['XSETID', '{k}', '9-9', 'ENTRIESADDED', '-1'],
      ['XSETID', '{k}', '9-9', 'ENTRIESADDED', '1'],
      ['XSETID', '{k}', '9-9', 'MAXDELETEDID', '10-0'],
      ['XSETID', '{k}', '20-0', 'ENTRIESADDED', '50', 'MAXDELETEDID', '15-0'],
      ['XINFO', 'STREAM', '{k}'],
      ['XSETID', '{k}', '14-0'],
      ['XSETID', '{k}', '20-0', 'FOO'],
      ['XSETID', '{k}', 'bad'],
      ['XADD', '{k}', '20-0', 'a', 'b'],
      ['XADD', '{k}', '20-*', 'a', 'b'],
    ]);
  });

  it('RESP3 shapes of XREAD, XINFO and XPENDING', async () => {
    await same(
      [
        ...fill3(3),
        ['XADD', '{k}:2', '1-1', 'a', 'b'],
        ['XREAD', 'STREAMS', '{k}', '{k}:2', '0', '0'],
        ['XREAD', 'STREAMS', '{k}', '$'],
        ['XGROUP', 'CREATE', '{k}', 'g', '0'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '>'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '>'],
        ['XPENDING', '{k}', 'g'],
        ['XGROUP', 'CREATE', '{k}:2', 'g', '$'],
        ['XPENDING', '{k}:2', 'g'],
        ['XINFO', 'STREAM', '{k}'],
        ['XINFO', 'STREAM', '{k}:2', 'FULL'],
        ['XINFO', 'GROUPS', '{k}'],
        ['XINFO', 'CONSUMERS', '{k}', 'g'],
        ['XRANGE', '{k}', '-', '+', 'COUNT', '0'],
        ['XADD', '{k}:s', 'NOMKSTREAM', '*', 'a', 'b'],
        ['XDEL', '{k}', '2-1'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', '{k}', '0'],
        ['XAUTOCLAIM', '{k}', 'g', 'd', '0', '0'],
      ],
      3,
    );
  });

  it('trims with LIMIT, FULL with COUNT 0 and reads past deleted entries', async () => {
    const many: Step[] = Array.from({ length: 320 }, (_, i) => ['XADD', '{k}', `${i + 1}-0`, 'f', String(i)]);
    await same([
      ...many,
      ['XADD', '{k}', 'MAXLEN', '~', '10', 'LIMIT', '100', '400-0', 'f', 'x'],
      ['XLEN', '{k}'],
      ['XTRIM', '{k}', 'MINID', '~', '300', 'LIMIT', '150'],
      ['XLEN', '{k}'],
      ['XTRIM', '{k}', 'MINID', '~', '300'],
      ['XLEN', '{k}'],
      ['XDEL', '{k}', '301-0', '302-0', '320-0'],
      ['XGROUP', 'CREATE', '{k}', 'g', '300-0'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '3', 'STREAMS', '{k}', '>'],
      ['XINFO', 'GROUPS', '{k}'],
      ['XREAD', 'COUNT', '2', 'STREAMS', '{k}', '318'],
      ['XREVRANGE', '{k}', '+', '(318-0'],
      ['XINFO', 'STREAM', '{k}', 'FULL', 'COUNT', '0'],
      ['XADD', '{k}:2', 'MINID', '~', '5', 'LIMIT', '0', '1-0', 'f', 'v'],
      ['XADD', '{k}:2', 'NOMKSTREAM', 'MAXLEN', '0', '2-0', 'f', 'v'],
      ['XINFO', 'STREAM', '{k}:2'],
      ['XINFO', 'STREAM', '{k}:2', 'FULL'],
    ]);
  });

  it('blocking reads inside MULTI answer at once, as on a timeout', async () => {
    await same([
      ['XGROUP', 'CREATE', '{k}', 'g', '$', 'MKSTREAM'],
      ['MULTI'],
      ['XREAD', 'BLOCK', '0', 'STREAMS', '{k}', '$'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', '{k}', '>'],
      ['XADD', '{k}', '1-1', 'f', 'v'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', '{k}', '>'],
      ['EXEC'],
      ['XPENDING', '{k}', 'g'],
    ]);
  });

  it('a blocked XREADGROUP is answered by XADD from another connection', async () => {
    const run = async (port: number): Promise<string[]> => {
      const prefix = `streams-diff-block-${process.pid}-${++counter}`;
      const [a, b] = await Promise.all([rawConnection(port), rawConnection(port)]);
      try {
        const out: string[] = [];
        out.push(await b.send(['XGROUP', 'CREATE', prefix, 'g', '$', 'MKSTREAM']));
        const blocked = a.send(['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', prefix, '>']);
        // The blocked client is parked once CLIENT LIST shows it blocked on XREADGROUP.
        for (let i = 0; i < 200; i++) {
          const list = await b.send(['CLIENT', 'LIST']);
          if (list.includes('cmd=xreadgroup')) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        out.push(await b.send(['XADD', prefix, '1-1', 'f', 'v']));
        out.push((await blocked).replaceAll(prefix, '{k}'));
        out.push(await b.send(['XPENDING', prefix, 'g', '-', '+', '10']).then(mask));
        out.push(await a.send(['XREAD', 'BLOCK', '30', 'STREAMS', prefix, '$']));
        await b.send(['DEL', prefix]);
        return out;
      } finally {
        a.close();
        b.close();
      }
    };
    const [expected, actual] = await Promise.all([run(realPort), run(embedded.port)]);
    expect(actual).toEqual(expected);
  });
});
