import { Redis } from 'iovalkey';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../testing/dist/index.js';
import { type EmbeddedRedis, ManualClock, startEmbeddedRedis } from '../src/index.js';

/**
 * Streams end to end through iovalkey on the embedded server with a manual clock: blocking reads
 * across connections, wakeups, timeouts, idle times and reclaiming driven by advancing the clock,
 * and deleted entries left in pending entries lists.
 */

const START = 1_700_000_000_000;
let clock: ManualClock;
let server: EmbeddedRedis;
const clients: Redis[] = [];
let counter = 0;

beforeAll(async () => {
  clock = new ManualClock(START);
  server = await startEmbeddedRedis({ clock });
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function connect(): Redis {
  const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
  clients.push(client);
  return client;
}

function key(): string {
  return `streams-e2e-${++counter}`;
}

async function blockedClients(admin: Redis): Promise<number> {
  const info = await admin.info('clients');
  return Number(/blocked_clients:(\d+)/.exec(info)?.[1] ?? -1);
}

async function waitBlocked(admin: Redis, count: number): Promise<void> {
  await until(async () => (await blockedClients(admin)) === count, 10_000);
}

type ReadReply = [string, [string, string[] | null][]][] | null;

describe('streams end to end', () => {
  it('serves blocked XREADGROUP clients on several connections in the order they blocked', async () => {
    const admin = connect();
    const stream = key();
    await admin.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const readers = [connect(), connect(), connect()];
    const replies: Promise<ReadReply>[] = [];
    for (const [i, reader] of readers.entries()) {
      replies.push(
        reader.xreadgroup(
          'GROUP',
          'g',
          `c${i}`,
          'COUNT',
          10,
          'BLOCK',
          0,
          'STREAMS',
          stream,
          '>',
        ) as Promise<ReadReply>,
      );
      await waitBlocked(admin, i + 1);
    }
    // One entry per XADD: each wakes exactly the longest-waiting reader.
    for (let i = 0; i < 3; i++) {
      await admin.xadd(stream, `${i + 1}-0`, 'n', String(i));
      expect(await replies[i]).toEqual([[stream, [[`${i + 1}-0`, ['n', String(i)]]]]]);
      await waitBlocked(admin, 2 - i);
    }
    const pending = (await admin.xpending(stream, 'g')) as [number, string, string, [string, string][]];
    expect(pending).toEqual([
      3,
      '1-0',
      '3-0',
      [
        ['c0', '1'],
        ['c1', '1'],
        ['c2', '1'],
      ],
    ]);
  });

  it('wakes XREAD on $ only for entries added after it blocked, on the stream it waits for', async () => {
    const admin = connect();
    const [a, b] = [key(), key()];
    await admin.xadd(a, '1-0', 'old', 'x');
    const reader = connect();
    const reply = reader.xread('BLOCK', 0, 'STREAMS', a, b, '$', '$') as Promise<ReadReply>;
    await waitBlocked(admin, 1);
    await admin.xadd(b, '5-0', 'new', 'y');
    expect(await reply).toEqual([[b, [['5-0', ['new', 'y']]]]]);
  });

  it('times out a blocked read when the clock passes its BLOCK time', async () => {
    const admin = connect();
    const stream = key();
    await admin.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const reader = connect();
    let settled = false;
    const reply = (
      reader.xreadgroup('GROUP', 'g', 'c', 'BLOCK', 5_000, 'STREAMS', stream, '>') as Promise<ReadReply>
    ).then((value) => {
      settled = true;
      return value;
    });
    await waitBlocked(admin, 1);
    clock.advance(4_999);
    await admin.ping();
    expect(settled).toBe(false);
    clock.advance(1);
    expect(await reply).toBeNull();
    await waitBlocked(admin, 0);
    // A blocked read that timed out created no consumer (as Redis 7.0).
    expect(await admin.xinfo('CONSUMERS', stream, 'g')).toEqual([]);
  });

  it('answers NOGROUP to a client blocked on a group that is destroyed', async () => {
    const admin = connect();
    const stream = key();
    await admin.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const reader = connect();
    const reply = reader.xreadgroup('GROUP', 'g', 'c', 'BLOCK', 0, 'STREAMS', stream, '>');
    await waitBlocked(admin, 1);
    await admin.xgroup('DESTROY', stream, 'g');
    await expect(reply).rejects.toThrow(
      'NOGROUP the consumer group this client was blocked on no longer exists',
    );
  });

  it('measures idle times on the server clock and reclaims with XAUTOCLAIM once they pass', async () => {
    const admin = connect();
    const stream = key();
    for (let i = 1; i <= 4; i++) await admin.xadd(stream, `${i}-0`, 'n', String(i));
    await admin.xgroup('CREATE', stream, 'g', '0');
    await admin.xreadgroup('GROUP', 'g', 'crashed', 'STREAMS', stream, '>');
    clock.advance(1_500);
    expect(await admin.xpending(stream, 'g', '-', '+', 10)).toEqual([
      ['1-0', 'crashed', 1_500, 1],
      ['2-0', 'crashed', 1_500, 1],
      ['3-0', 'crashed', 1_500, 1],
      ['4-0', 'crashed', 1_500, 1],
    ]);
    expect(await admin.xautoclaim(stream, 'g', 'rescuer', 10_000, '0')).toEqual(['0-0', [], []]);
    clock.advance(8_500);
    expect(await admin.xpending(stream, 'g', 'IDLE', 10_000, '-', '+', 10)).toHaveLength(4);
    expect(await admin.xautoclaim(stream, 'g', 'rescuer', 10_000, '0', 'COUNT', 3)).toEqual([
      '4-0',
      [
        ['1-0', ['n', '1']],
        ['2-0', ['n', '2']],
        ['3-0', ['n', '3']],
      ],
      [],
    ]);
    clock.advance(250);
    expect(await admin.xpending(stream, 'g', '-', '+', 10)).toEqual([
      ['1-0', 'rescuer', 250, 2],
      ['2-0', 'rescuer', 250, 2],
      ['3-0', 'rescuer', 250, 2],
      ['4-0', 'crashed', 10_250, 1],
    ]);
    const consumers = (await admin.xinfo('CONSUMERS', stream, 'g')) as unknown[][];
    expect(consumers).toEqual([
      ['name', 'crashed', 'pending', 1, 'idle', 10_250],
      ['name', 'rescuer', 'pending', 3, 'idle', 250],
    ]);
    // XCLAIM IDLE backdates a delivery; TIME sets it.
    await admin.xclaim(stream, 'g', 'rescuer', 0, '4-0', 'IDLE', 60_000, 'JUSTID');
    await admin.xclaim(stream, 'g', 'rescuer', 0, '1-0', 'TIME', START, 'RETRYCOUNT', 9, 'JUSTID');
    const pending = (await admin.xpending(stream, 'g', '-', '+', 10)) as [string, string, number, number][];
    expect(pending[0]).toEqual(['1-0', 'rescuer', clock.now() - START, 9]);
    expect(pending[3]).toEqual(['4-0', 'rescuer', 60_000, 1]);
  });

  it('keeps deleted entries in the PEL until history, XCLAIM or XAUTOCLAIM meets them', async () => {
    const admin = connect();
    const stream = key();
    for (let i = 1; i <= 5; i++) await admin.xadd(stream, `${i}-0`, 'n', String(i));
    await admin.xgroup('CREATE', stream, 'g', '0');
    await admin.xreadgroup('GROUP', 'g', 'c', 'STREAMS', stream, '>');
    expect(await admin.xdel(stream, '2-0', '4-0')).toBe(2);
    await admin.xtrim(stream, 'MAXLEN', 2);
    // Entries 1 (trimmed), 2 and 4 (deleted) are gone from the stream, still pending.
    expect(await admin.xpending(stream, 'g')).toEqual([5, '1-0', '5-0', [['c', '5']]]);
    expect(await admin.xreadgroup('GROUP', 'g', 'c', 'STREAMS', stream, '0')).toEqual([
      [
        stream,
        [
          ['1-0', null],
          ['2-0', null],
          ['3-0', ['n', '3']],
          ['4-0', null],
          ['5-0', ['n', '5']],
        ],
      ],
    ]);
    expect(await admin.xclaim(stream, 'g', 'other', 0, '2-0', '3-0')).toEqual([['3-0', ['n', '3']]]);
    clock.advance(100);
    expect(await admin.xautoclaim(stream, 'g', 'other', 50, '0', 'JUSTID')).toEqual([
      '0-0',
      ['3-0', '5-0'],
      ['1-0', '4-0'],
    ]);
    expect(await admin.xpending(stream, 'g')).toEqual([2, '3-0', '5-0', [['other', '2']]]);
  });

  it('keeps its stream id generator on the server clock and never goes back', async () => {
    const admin = connect();
    const stream = key();
    const first = await admin.xadd(stream, '*', 'a', '1');
    expect(first).toBe(`${clock.now()}-0`);
    expect(await admin.xadd(stream, '*', 'a', '2')).toBe(`${clock.now()}-1`);
    clock.advance(1);
    expect(await admin.xadd(stream, '*', 'a', '3')).toBe(`${clock.now()}-0`);
    await admin.xadd(stream, `${clock.now() + 1_000}-5`, 'a', '4');
    expect(await admin.xadd(stream, '*', 'a', '5')).toBe(`${clock.now() + 1_000}-6`);
  });

  it('serves many blocked readers of one group under a burst of XADDs without losing or doubling entries', async () => {
    const admin = connect();
    const stream = key();
    await admin.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    const seen: string[] = [];
    const readers = Array.from({ length: 4 }, () => connect());
    const loops = readers.map(async (reader, i) => {
      for (;;) {
        const reply = (await reader.xreadgroup(
          'GROUP',
          'g',
          `c${i}`,
          'COUNT',
          7,
          'BLOCK',
          0,
          'STREAMS',
          stream,
          '>',
        )) as ReadReply;
        for (const [, entries] of reply ?? []) {
          for (const [id] of entries) seen.push(id);
          await reader.xack(stream, 'g', ...entries.map(([id]) => id));
        }
      }
    });
    await waitBlocked(admin, 4);
    const writer = connect();
    const pipeline = writer.pipeline();
    for (let i = 0; i < 500; i++) pipeline.xadd(stream, '*', 'n', String(i));
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
    await until(() => seen.length >= 500, 10_000);
    expect(new Set(seen).size).toBe(500);
    expect([...seen].sort()).toEqual([...ids].sort());
    await until(async () => ((await admin.xpending(stream, 'g')) as unknown[])[0] === 0, 10_000);
    // Every reader took part, and they are all blocked again.
    const consumers = (await admin.xinfo('CONSUMERS', stream, 'g')) as unknown[];
    expect(consumers).toHaveLength(4);
    await waitBlocked(admin, 4);
    for (const reader of readers) reader.disconnect();
    await Promise.allSettled(loops);
  });
});
