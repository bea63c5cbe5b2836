import { type RedisServer, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../src/index.js';

let server: RedisServer;
let proxy: FaultProxy;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedis();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await proxy?.close();
});

afterAll(async () => {
  await server?.stop();
});

async function connect(): Promise<Redis> {
  proxy = await FaultProxy.start({ port: server.port });
  const client = new Redis(proxy.url());
  client.on('error', () => undefined);
  clients.push(client);
  expect(await client.ping()).toBe('PONG');
  return client;
}

describe('FaultProxy', () => {
  it('forwards commands and binary replies unchanged', async () => {
    const client = await connect();
    const value = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
    await client.set('proxy:bin', value);
    expect((await client.getBuffer('proxy:bin'))?.equals(value)).toBe(true);
    expect(proxy.stats().bytesUp).toBeGreaterThan(70_000);
  });

  it('cuts every connection; the client reconnects through it', async () => {
    const client = await connect();
    let closes = 0;
    client.on('close', () => closes++);
    expect(proxy.cut()).toBe(1);
    await until(() => closes > 0, 5_000, 'the client sees the cut');
    expect(await client.ping()).toBe('PONG');
    expect(proxy.stats().accepted).toBe(2);
  });

  it('holds traffic for the whole stall, then delivers it in order', async () => {
    const client = await connect();
    const stall = proxy.stall(600);
    const started = performance.now();
    const replies = await Promise.all([
      client.incr('proxy:n'),
      client.incr('proxy:n'),
      client.incr('proxy:n'),
    ]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(550);
    expect(replies).toEqual([1, 2, 3]);
    await stall;
  });

  it('delays every chunk while slowed, and stops when set back to 0', async () => {
    const client = await connect();
    proxy.slow(150);
    const started = performance.now();
    await client.ping();
    // One chunk each way: at least two delays.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    proxy.slow(0);
    const again = performance.now();
    await client.ping();
    expect(performance.now() - again).toBeLessThan(280);
  });
});
