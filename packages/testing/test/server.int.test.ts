import { randomSubject, realRedisSuite, startRedis } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterEach, describe, expect, it } from 'vitest';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function connect(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  client.on('error', () => {
    // restarts drop the connection on purpose
  });
  cleanups.push(() => client.disconnect());
  return client;
}

function withEnv(name: string, value: string | undefined): void {
  const previous = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  cleanups.push(() => {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  });
}

const local = realRedisSuite(
  'startRedis (local redis-server)',
  'the redis-server process these tests start, restart and kill',
  { local: true },
);

describe.skipIf(local.skip)(local.title, () => {
  it('starts a server on a loopback port that answers commands', async () => {
    const server = await startRedis({ server: 'real' });
    cleanups.push(() => server.stop());
    expect(server.kind).toBe('local');
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    const client = connect(server.url);
    expect(await client.ping()).toBe('PONG');
  });

  it('keeps acknowledged writes across a SIGTERM restart and a SIGKILL crash with persistence', async () => {
    const server = await startRedis({ persistence: true, server: 'real' });
    cleanups.push(() => server.stop());
    const client = connect(server.url);
    const key = randomSubject('persist');
    await client.set(key, 'one');
    await server.restart();
    expect(await client.get(key)).toBe('one');
    await client.set(key, 'two');
    await server.restart({ kill: true });
    expect(await client.get(key)).toBe('two');
  });

  it('loses data on restart without persistence', async () => {
    const server = await startRedis({ server: 'real' });
    cleanups.push(() => server.stop());
    const client = connect(server.url);
    const key = randomSubject('volatile');
    await client.set(key, 'x');
    await server.restart({ kill: true });
    expect(await client.get(key)).toBeNull();
  });

  it('requires the password and puts it in the url', async () => {
    const server = await startRedis({ password: 's3cret/+ x', server: 'real' });
    cleanups.push(() => server.stop());
    expect(server.url).toBe(`redis://:${encodeURIComponent('s3cret/+ x')}@127.0.0.1:${server.port}`);
    expect(await connect(server.url).ping()).toBe('PONG');
    const anonymous = connect(`redis://127.0.0.1:${server.port}`);
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
  });

  it('passes extra args to redis-server', async () => {
    const server = await startRedis({ args: ['--maxmemory', '12mb'], server: 'real' });
    cleanups.push(() => server.stop());
    expect(await connect(server.url).config('GET', 'maxmemory')).toEqual([
      'maxmemory',
      String(12 * 1024 * 1024),
    ]);
  });

  it('rejects with the server log when redis-server refuses to start', async () => {
    const error = await startRedis({ args: ['--no-such-option', 'yes'], server: 'real' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/exited/);
    expect((error as Error).message).toMatch(/no-such-option/);
  });

  it('stops the process and refuses to restart after stop', async () => {
    const server = await startRedis({ server: 'real' });
    await server.stop();
    await server.stop();
    const client = new Redis(server.url, { retryStrategy: () => null, lazyConnect: true });
    client.on('error', () => {});
    await expect(client.connect()).rejects.toThrow();
    client.disconnect();
    await expect(server.restart()).rejects.toThrow(/stopped/);
  });

  it('starts servers in parallel on distinct ports', async () => {
    const servers = await Promise.all([
      startRedis({ server: 'real' }),
      startRedis({ server: 'real' }),
      startRedis({ server: 'real' }),
    ]);
    cleanups.push(() => Promise.all(servers.map((s) => s.stop())).then(() => undefined));
    expect(new Set(servers.map((s) => s.port)).size).toBe(3);
  });
});

describe('startRedis environment switches', () => {
  it('uses REDIS_URL as an external server it cannot restart', async () => {
    withEnv('RELAYBUS_TEST_REDIS', undefined);
    withEnv('REDIS_URL', 'redis://:pw@10.0.0.9:6390');
    const server = await startRedis();
    expect(server.kind).toBe('external');
    expect(server.host).toBe('10.0.0.9');
    expect(server.port).toBe(6390);
    expect(server.url).toBe('redis://:pw@10.0.0.9:6390');
    await expect(server.restart()).rejects.toThrow(/cannot restart an external server/);
    const error = (await server.restart().catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('redis://***@10.0.0.9:6390');
    await server.stop();
  });

  it('rejects a REDIS_URL that is not redis:// or rediss://', async () => {
    withEnv('RELAYBUS_TEST_REDIS', undefined);
    withEnv('REDIS_URL', 'http://localhost:6379');
    await expect(startRedis()).rejects.toThrow(/REDIS_URL/);
  });

  it('uses the embedded server when RELAYBUS_TEST_REDIS=embedded, even with redis-server on PATH', async () => {
    withEnv('RELAYBUS_TEST_REDIS', 'embedded');
    const server = await startRedis();
    cleanups.push(() => server.stop());
    expect(server.kind).toBe('embedded');
    expect(await connect(server.url).ping()).toBe('PONG');
  });

  it('falls back to the embedded server with no REDIS_URL and nothing on PATH', async () => {
    withEnv('RELAYBUS_TEST_REDIS', undefined);
    withEnv('REDIS_URL', undefined);
    withEnv('PATH', '/nonexistent');
    const server = await startRedis();
    cleanups.push(() => server.stop());
    expect(server.kind).toBe('embedded');
    expect(await connect(server.url).ping()).toBe('PONG');
  });

  const real = realRedisSuite(
    'uses a real server when asked with { server: "real" } despite RELAYBUS_TEST_REDIS=embedded',
    'the redis-server it asks for',
    { local: true },
  );
  it.skipIf(real.skip)(real.title, async () => {
    withEnv('RELAYBUS_TEST_REDIS', 'embedded');
    const server = await startRedis({ server: 'real' });
    cleanups.push(() => server.stop());
    expect(server.kind).toBe('local');
  });

  it('rejects an unknown RELAYBUS_TEST_REDIS value', async () => {
    withEnv('RELAYBUS_TEST_REDIS', 'docker');
    await expect(startRedis()).rejects.toThrow(/must be "real" or "embedded"/);
  });

  it('with RELAYBUS_TEST_REDIS=real and nothing installed, says what to install', async () => {
    withEnv('RELAYBUS_TEST_REDIS', 'real');
    withEnv('REDIS_URL', undefined);
    withEnv('PATH', '/nonexistent');
    withEnv('DOCKER_HOST', undefined);
    await expect(startRedis()).rejects.toThrow(/apt-get install -y redis-server.*REDIS_URL/);
  });
});
