import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';
import { raw } from './raw.js';

describe('embedded server: connection commands', () => {
  let redis: EmbeddedRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startEmbeddedRedis();
    client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    await client.connect();
  });

  afterAll(async () => {
    client.disconnect();
    await redis.close();
  });

  it('answers PING, ECHO and the CLIENT name commands through iovalkey', async () => {
    expect(await client.ping()).toBe('PONG');
    expect(await client.ping('hey')).toBe('hey');
    expect(await client.echo('a b')).toBe('a b');
    expect(await client.client('GETNAME')).toBeNull();
    expect(await client.client('SETNAME', 'worker-1')).toBe('OK');
    expect(await client.client('GETNAME')).toBe('worker-1');
    const id = (await client.client('ID')) as number;
    expect(id).toBeGreaterThan(0);
    const list = (await client.client('LIST')) as string;
    expect(list).toContain(`id=${id} `);
    expect(list).toContain('name=worker-1');
  });

  it("rejects unknown commands and wrong arity with Redis's texts", async () => {
    await expect(client.call('NOPE', 'a', 'b')).rejects.toThrow(
      "ERR unknown command 'NOPE', with args beginning with: 'a' 'b' ",
    );
    await expect(client.call('ECHO')).rejects.toThrow("ERR wrong number of arguments for 'echo' command");
    await expect(client.call('CLIENT', 'SETNAME')).rejects.toThrow(
      "ERR wrong number of arguments for 'client|setname' command",
    );
    await expect(client.call('CLIENT', 'BOGUS')).rejects.toThrow(
      "ERR unknown subcommand 'BOGUS'. Try CLIENT HELP.",
    );
  });

  it('selects databases, reports DBSIZE, TIME, INFO and CONFIG', async () => {
    expect(await client.select(3)).toBe('OK');
    expect(await client.dbsize()).toBe(0);
    await expect(client.select(16)).rejects.toThrow('ERR DB index is out of range');
    await client.select(0);
    const [seconds] = (await client.time()) as unknown as [string, string];
    expect(Math.abs(Number(seconds) - Date.now() / 1000)).toBeLessThan(5);
    const info = await client.info();
    expect(info).toContain('redis_version:7.0.15');
    expect(info).toContain('role:master');
    expect(info).toContain('connected_clients:');
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await client.config('SET', 'hz', '20')).toBe('OK');
    expect(await client.config('GET', 'hz')).toEqual(['hz', '20']);
    await expect(client.config('SET', 'nope', '1')).rejects.toThrow(
      "ERR Unknown option or number of arguments for CONFIG SET - 'nope'",
    );
  });

  it('speaks RESP3 after HELLO 3 and RESP2 after HELLO 2', async () => {
    const reply = await raw(redis.port, '*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\nPING\r\n', (t) =>
      t.endsWith('+PONG\r\n'),
    );
    expect(reply.text.startsWith('%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n')).toBe(true);
    expect(reply.text).toContain('$5\r\nproto\r\n:3\r\n');
    const nulls = await raw(redis.port, 'HELLO 3\r\nCLIENT GETNAME\r\nHELLO 2\r\nCLIENT GETNAME\r\n', (t) =>
      t.endsWith('$-1\r\n'),
    );
    expect(nulls.text).toContain('_\r\n*14\r\n');
  });

  it('replies a protocol error and closes only that connection', async () => {
    const bad = await raw(redis.port, 'PING\r\n*1\r\nx\r\n');
    expect(bad.text).toBe("+PONG\r\n-ERR Protocol error: expected '$', got 'x'\r\n");
    expect(bad.closed).toBe(true);
    expect(await client.ping()).toBe('PONG');
  });

  it('closes after QUIT and counts connections', async () => {
    const before = redis.server.connectionCount;
    const quit = await raw(redis.port, 'QUIT\r\nPING\r\n');
    expect(quit).toEqual({ text: '+OK\r\n', closed: true });
    expect(redis.server.connectionCount).toBe(before);
  });
});

describe('embedded server: requirepass', () => {
  let redis: EmbeddedRedis;

  beforeAll(async () => {
    redis = await startEmbeddedRedis({ password: 's3cret' });
  });

  afterAll(async () => {
    await redis.close();
  });

  it('demands AUTH before other commands and accepts the password', async () => {
    const denied = await raw(redis.port, 'PING\r\nAUTH wrong\r\nAUTH s3cret\r\nPING\r\n', (t) =>
      t.endsWith('+PONG\r\n'),
    );
    expect(denied.text).toBe(
      '-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n+PONG\r\n',
    );
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});
