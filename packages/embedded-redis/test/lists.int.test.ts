import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSubject, until } from '../../testing/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

/** Lists end to end through iovalkey against the embedded server, blocking across connections. */

let server: EmbeddedRedis;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startEmbeddedRedis();
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.close();
});

function connect(): Redis {
  const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
  clients.push(client);
  return client;
}

/** Number of clients the server has parked in a blocking command. */
async function blockedClients(client: Redis): Promise<number> {
  const list = (await client.client('LIST')) as string;
  return list
    .split('\n')
    .filter(
      (line) =>
        / cmd=(blpop|brpop|blmove|brpoplpush|blmpop|bzpopmin|bzpopmax)\b/.test(line) &&
        / flags=\S*b/.test(line),
    ).length;
}

describe('lists through iovalkey', () => {
  it('moves entries the way the Lists transport does: LPUSH, LMOVE/BLMOVE to a processing list, LREM to ack', async () => {
    const client = connect();
    const queue = randomSubject('queue');
    const processing = randomSubject('processing');
    expect(await client.lpush(queue, 'm1', 'm2', 'm3')).toBe(3);
    expect(await client.lmove(queue, processing, 'RIGHT', 'LEFT')).toBe('m1');
    expect(await client.blmoveBuffer(queue, processing, 'RIGHT', 'LEFT', 1)).toEqual(Buffer.from('m2'));
    expect(await client.rpoplpush(queue, processing)).toBe('m3');
    expect(await client.lrange(processing, 0, -1)).toEqual(['m3', 'm2', 'm1']);
    expect(await client.exists(queue)).toBe(0);
    expect(await client.lrem(processing, -1, 'm2')).toBe(1);
    expect(await client.lrem(processing, -1, 'm2')).toBe(0);
    expect(await client.lpos(processing, 'm1')).toBe(1);
    expect(await client.lset(processing, 1, 'M1')).toBe('OK');
    expect(await client.lrange(processing, 0, -1)).toEqual(['m3', 'M1']);
    expect(await client.rpop(processing, 5)).toEqual(['M1', 'm3']);
    expect(await client.exists(processing)).toBe(0);
  });

  it('keeps binary values intact', async () => {
    const client = connect();
    const key = randomSubject('bin');
    const value = Buffer.from([0, 255, 13, 10, 0xf5, 0x80]);
    await client.rpush(key, value);
    expect(await client.lindexBuffer(key, 0)).toEqual(value);
    expect(await client.lrem(key, 0, value)).toBe(1);
  });

  it('serves blocked clients in the order they blocked, one element each, across connections', async () => {
    const [a, b, c, pusher] = [connect(), connect(), connect(), connect()];
    const key = randomSubject('fifo');
    const dst = randomSubject('fifo-dst');
    const first = a.blpop(key, 0);
    await until(async () => (await blockedClients(pusher)) === 1, 10_000);
    const second = b.brpop(key, 0);
    await until(async () => (await blockedClients(pusher)) === 2, 10_000);
    const third = c.blmove(key, dst, 'LEFT', 'RIGHT', 0);
    await until(async () => (await blockedClients(pusher)) === 3, 10_000);
    expect(await pusher.rpush(key, 'one', 'two')).toBe(2);
    expect(await first).toEqual([key, 'one']);
    expect(await second).toEqual([key, 'two']);
    expect(await pusher.lpush(key, 'three')).toBe(1);
    expect(await third).toBe('three');
    expect(await pusher.lrange(dst, 0, -1)).toEqual(['three']);
    expect(await pusher.exists(key)).toBe(0);
  });

  it('times out with null, and a client that disconnected while blocked is not served', async () => {
    const [a, b, pusher] = [connect(), connect(), connect()];
    const key = randomSubject('timeout');
    const started = Date.now();
    expect(await a.blpop(key, 0.2)).toBeNull();
    expect(await a.blmove(key, `${key}:d`, 'LEFT', 'LEFT', 0.1)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const doomed = connect();
    void doomed.blpop(key, 0).catch(() => undefined);
    await until(async () => (await blockedClients(pusher)) === 1, 10_000);
    const waiting = b.brpoplpush(key, `${key}:d`, 0);
    await until(async () => (await blockedClients(pusher)) === 2, 10_000);
    doomed.disconnect();
    await until(async () => (await blockedClients(pusher)) === 1, 10_000);
    await pusher.rpush(key, 'x');
    expect(await waiting).toBe('x');
    expect(await pusher.lrange(`${key}:d`, 0, -1)).toEqual(['x']);
  });

  it('waits once on a key named twice and is not served twice', async () => {
    const [a, b, pusher] = [connect(), connect(), connect()];
    const key = randomSubject('twice');
    const first = a.blpop(key, key, 0);
    await until(async () => (await blockedClients(pusher)) === 1, 10_000);
    await pusher.rpush(key, 'one');
    expect(await first).toEqual([key, 'one']);
    const second = a.blpop(`${key}:other`, 0);
    await until(async () => (await blockedClients(pusher)) === 1, 10_000);
    const third = b.blpop(key, 0);
    await until(async () => (await blockedClients(pusher)) === 2, 10_000);
    await pusher.rpush(key, 'two');
    expect(await third).toEqual([key, 'two']);
    await pusher.rpush(`${key}:other`, 'three');
    expect(await second).toEqual([`${key}:other`, 'three']);
  });

  it('BLMPOP and BLMOVE wake on a push to any of their keys', async () => {
    const [a, pusher] = [connect(), connect()];
    const k1 = randomSubject('m1');
    const k2 = randomSubject('m2');
    const popped = a.call('BLMPOP', '0', '2', k1, k2, 'RIGHT', 'COUNT', '2');
    await until(async () => (await blockedClients(pusher)) === 1, 10_000);
    await pusher.rpush(k2, 'a', 'b', 'c');
    expect(await popped).toEqual([k2, ['c', 'b']]);
    expect(await pusher.lrange(k2, 0, -1)).toEqual(['a']);
  });

  it('CLIENT UNBLOCK ends a BLMOVE as a timeout would (how the Lists transport interrupts its fetch loop)', async () => {
    const [a, admin] = [connect(), connect()];
    const id = Number(await a.client('ID'));
    const key = randomSubject('unblock');
    const pending = a.blmove(key, `${key}:p`, 'RIGHT', 'LEFT', 0);
    pending.catch(() => undefined);
    await until(async () => (await blockedClients(admin)) === 1, 10_000);
    expect(await admin.client('UNBLOCK', id)).toBe(1);
    expect(await pending).toBeNull();
    expect(await a.ping()).toBe('PONG');
  });

  it('keeps order through 50k pipelined pushes and counted pops at both ends', async () => {
    const client = connect();
    const key = randomSubject('deque');
    const pipeline = client.pipeline();
    for (let i = 0; i < 50; i++)
      pipeline.rpush(key, ...Array.from({ length: 1000 }, (_, j) => String(i * 1000 + j)));
    await pipeline.exec();
    expect(await client.llen(key)).toBe(50_000);
    expect(await client.lpop(key, 3)).toEqual(['0', '1', '2']);
    expect(await client.rpop(key, 2)).toEqual(['49999', '49998']);
    expect(await client.lindex(key, 24_997)).toBe('25000');
    expect(await client.lrange(key, -2, -1)).toEqual(['49996', '49997']);
    await client.ltrim(key, 1, 0);
    expect(await client.exists(key)).toBe(0);
  });
});
