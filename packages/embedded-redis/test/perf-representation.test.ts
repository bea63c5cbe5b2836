import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { until } from '../../testing/dist/index.js';
import { List } from '../src/data/list.js';
import { INLINE_MAX, StringEntry } from '../src/data/string.js';
import { startEmbeddedRedis } from '../src/index.js';
import { RespWriter } from '../src/resp/writer.js';

/**
 * The compact representations the server uses for speed and memory (short strings and list
 * elements as latin1 strings, reply slabs handed to sockets without a copy) must not change what
 * a client sees: every byte value round-trips, and values cross the inline limit both ways.
 */

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('compact string values', () => {
  it('round-trips every byte, crosses the inline limit both ways, counts and appends', async () => {
    const redis = await startEmbeddedRedis();
    try {
      const server = redis.server;
      expect(server.run(['SET', 'bin', ALL_BYTES])).toEqual({ kind: 'simple', value: 'OK' });
      expect(server.run(['GET', 'bin'])).toEqual({ kind: 'bulk', value: ALL_BYTES });
      expect(server.getString('bin')).toEqual(ALL_BYTES);
      expect(server.database(0).get('bin')).toBeInstanceOf(StringEntry);

      const big = Buffer.alloc(INLINE_MAX + 1, 0xe9);
      server.run(['SET', 'big', big]);
      expect(server.run(['GET', 'big'])).toEqual({ kind: 'bulk', value: big });
      expect(server.run(['STRLEN', 'big'])).toEqual({ kind: 'integer', value: INLINE_MAX + 1 });

      // APPEND grows an inline value past the limit; SETRANGE within it keeps the bytes.
      server.run(['SET', 'grow', Buffer.alloc(INLINE_MAX, 0x41)]);
      expect(server.run(['APPEND', 'grow', Buffer.from([0xff, 0x00])])).toEqual({
        kind: 'integer',
        value: INLINE_MAX + 2,
      });
      server.run(['SETRANGE', 'grow', '1', Buffer.from([0x80])]);
      const grown = Buffer.alloc(INLINE_MAX + 2, 0x41);
      grown[1] = 0x80;
      grown[INLINE_MAX] = 0xff;
      grown[INLINE_MAX + 1] = 0x00;
      expect(server.run(['GET', 'grow'])).toEqual({ kind: 'bulk', value: grown });

      // Counters on inline text, including the edges of the exact-number range.
      server.run(['SET', 'n', '9007199254740991']);
      expect(server.run(['INCR', 'n'])).toEqual({ kind: 'integer', value: 9007199254740992n });
      expect(server.run(['INCRBY', 'n', '-2'])).toEqual({ kind: 'integer', value: 9007199254740990n });
      server.run(['SET', 'neg', '-17']);
      expect(server.run(['DECR', 'neg'])).toEqual({ kind: 'integer', value: -18 });
      server.run(['SET', 'bad', '007']);
      expect(server.run(['INCR', 'bad'])).toEqual({
        kind: 'error',
        value: 'ERR value is not an integer or out of range',
      });
      expect(server.run(['INCRBYFLOAT', 'neg', '0.5'])).toEqual({
        kind: 'bulk',
        value: Buffer.from('-17.5'),
      });

      // COPY and the OBJECT encoding read the value through the generic entry interface.
      expect(server.run(['COPY', 'bin', 'bin2'])).toEqual({ kind: 'integer', value: 1 });
      expect(server.run(['GET', 'bin2'])).toEqual({ kind: 'bulk', value: ALL_BYTES });
      server.run(['SET', 'int', '12345']);
      expect(server.run(['OBJECT', 'ENCODING', 'int'])).toEqual({
        kind: 'bulk',
        value: Buffer.from('int'),
      });
    } finally {
      await redis.close();
    }
  });
});

describe('compact list elements', () => {
  it('keep every byte and compare equal across the inline limit', () => {
    const big = Buffer.alloc(INLINE_MAX + 5, 0x7f);
    const list = new List([ALL_BYTES, big, Buffer.from('x')]);
    expect(list.at(0)).toEqual(ALL_BYTES);
    expect(list.at(1)).toEqual(big);
    expect(list.indexOf(Buffer.from(big))).toBe(1);
    expect(list.indexOf(Buffer.from(ALL_BYTES))).toBe(0);
    expect(list.remove(Buffer.from('x'), 0)).toBe(1);
    expect([...list.clone().values()]).toEqual([ALL_BYTES, big]);
    expect(list.popRight()).toEqual(big);
    expect(list.popLeftItem()).toBe(ALL_BYTES.toString('latin1'));
    expect(list.length).toBe(0);
  });

  it('does not keep a view of the request: later requests in the same read do not change it', async () => {
    const redis = await startEmbeddedRedis();
    try {
      const socket = connect(redis.port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
      });
      // Two pushes and a read in one write: the first element's bytes sit in the same read buffer.
      socket.write(
        '*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$3\r\nabc\r\n*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$3\r\n\xe9\xe9\xe9\r\n' +
          '*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n*2\r\n$4\r\nLPOP\r\n$1\r\nl\r\n',
        'latin1',
      );
      await until(
        () => received.length >= ':1\r\n:2\r\n*2\r\n$3\r\nabc\r\n$3\r\nééé\r\n$3\r\nabc\r\n'.length,
        10_000,
      );
      expect(received).toBe(':1\r\n:2\r\n*2\r\n$3\r\nabc\r\n$3\r\n\xe9\xe9\xe9\r\n$3\r\nabc\r\n');
      socket.destroy();
    } finally {
      await redis.close();
    }
  });
});

describe('reply slabs', () => {
  it('hands out views that later replies never overwrite, across slab changes and growth', () => {
    const out = new RespWriter(2);
    const taken: { view: Buffer; copy: Buffer }[] = [];
    for (let round = 0; round < 2000; round++) {
      const size = round % 97 === 0 ? 40_000 : round % 13;
      out.bulk(Buffer.alloc(size, round & 0xff));
      out.integer(round);
      if (round % 7 === 0) {
        out.simple('DROPPED');
        out.discard();
        out.integer(-1);
      }
      const view = out.take();
      expect(view).toBeDefined();
      taken.push({ view: view as Buffer, copy: Buffer.from(view as Buffer) });
    }
    for (const { view, copy } of taken) expect(view.equals(copy)).toBe(true);
    expect(out.take()).toBeUndefined();
    expect(out.length).toBe(0);
  });

  it('writes integers digit by digit exactly as their decimal text', () => {
    const out = new RespWriter(2);
    const values = [0, -0, 1, 9, 10, 1023, 1024, -1, -1024, 65_535, 10 ** 15, -(2 ** 53 - 1), 2 ** 53 - 1];
    for (let i = 0; i < 2000; i++) values.push(Math.floor((Math.random() - 0.5) * 2 ** (1 + (i % 53))));
    let expected = '';
    for (const value of values) {
      out.integer(value);
      out.bulk(Buffer.alloc(Math.abs(value) % 3000));
      expected += `:${value}\r\n$${Math.abs(value) % 3000}\r\n${'\0'.repeat(Math.abs(value) % 3000)}\r\n`;
    }
    expect((out.take() as Buffer).toString('latin1')).toBe(expected);
  });
});
