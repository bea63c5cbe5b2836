import {
  EmbeddedUnsupportedError,
  randomSubject,
  redisAvailability,
  startRedis,
  startRedisCluster,
} from '@relaybus/testing';
import { Cluster, Redis } from 'iovalkey';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const cleanups: Array<() => Promise<void> | void> = [];
let previous: string | undefined;

beforeEach(() => {
  previous = process.env.RELAYBUS_TEST_REDIS;
  process.env.RELAYBUS_TEST_REDIS = 'embedded';
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  if (previous === undefined) delete process.env.RELAYBUS_TEST_REDIS;
  else process.env.RELAYBUS_TEST_REDIS = previous;
});

function connect(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  client.on('error', () => {
    // restarts drop the connection on purpose
  });
  cleanups.push(() => client.disconnect());
  return client;
}

describe('RELAYBUS_TEST_REDIS=embedded', () => {
  it('gives a working embedded server and says so once on stderr', async () => {
    const stderr = vi.spyOn(process.stderr, 'write');
    cleanups.push(() => stderr.mockRestore());
    const server = await startRedis();
    cleanups.push(() => server.stop());
    expect(server.kind).toBe('embedded');
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    const said = stderr.mock.calls.map(([text]) => String(text)).filter((text) => text.includes('embedded'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^relaybus: using the embedded Redis server .*RELAYBUS_TEST_REDIS=embedded\n$/);
    const client = connect(server.url);
    const key = randomSubject('embedded');
    expect(await client.ping()).toBe('PONG');
    await client.set(key, 'v');
    expect(await client.get(key)).toBe('v');
    expect(await client.incr(`${key}:n`)).toBe(1);
  });

  it('reports the embedded server as available, for clusters too', async () => {
    expect(await redisAvailability()).toEqual({ available: true, kind: 'embedded' });
    expect(await redisAvailability({ cluster: true })).toEqual({ available: true, kind: 'embedded' });
  });

  it('keeps acknowledged writes across restart() and a kill-style restart with persistence', async () => {
    const server = await startRedis({ persistence: true });
    cleanups.push(() => server.stop());
    const client = connect(server.url);
    const key = randomSubject('persist');
    await client.set(key, 'one');
    await server.restart();
    expect(await client.get(key)).toBe('one');
    await client.rpush(`${key}:list`, 'a', 'b');
    await client.set(key, 'two');
    await server.restart({ kill: true });
    expect(await client.get(key)).toBe('two');
    expect(await client.lrange(`${key}:list`, 0, -1)).toEqual(['a', 'b']);
  });

  it('loses data on restart() without persistence', async () => {
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const client = connect(server.url);
    const key = randomSubject('volatile');
    await client.set(key, 'x');
    const port = server.port;
    await server.restart({ kill: true });
    expect(server.port).toBe(port);
    expect(await client.get(key)).toBeNull();
  });

  it('rejects TLS and redis-server arguments with EmbeddedUnsupportedError', async () => {
    const tls = await startRedis({ tls: true }).catch((error: unknown) => error);
    expect(tls).toBeInstanceOf(EmbeddedUnsupportedError);
    expect((tls as EmbeddedUnsupportedError).code).toBe('EMBEDDED_UNSUPPORTED');
    expect((tls as EmbeddedUnsupportedError).reason).toMatch(/TLS/);
    await expect(startRedis({ args: ['--maxmemory', '10mb'] })).rejects.toThrow(/--maxmemory 10mb/);
  });

  it('requires the password when one is given', async () => {
    const server = await startRedis({ password: 'pw' });
    cleanups.push(() => server.stop());
    expect(server.url).toBe(`redis://:pw@127.0.0.1:${server.port}`);
    expect(await connect(server.url).ping()).toBe('PONG');
  });

  it('starts an embedded Cluster that iovalkey Cluster uses, with stopNode/startNode', async () => {
    const cluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    expect(cluster.kind).toBe('embedded');
    expect(cluster.nodes).toHaveLength(3);
    const client = new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })));
    cleanups.push(async () => {
      await client.quit();
    });
    const keys = Array.from({ length: 30 }, (_, i) => randomSubject(`k${i}`));
    await Promise.all(keys.map((key) => client.set(key, key)));
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
    await cluster.stopNode(1);
    await cluster.startNode(1);
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
  });

  it('rejects an unknown RELAYBUS_TEST_REDIS value naming it', async () => {
    process.env.RELAYBUS_TEST_REDIS = 'docker';
    await expect(startRedis()).rejects.toThrow(
      /RELAYBUS_TEST_REDIS must be "real" or "embedded", got "docker"/,
    );
    expect(await redisAvailability()).toMatchObject({ available: false });
  });
});
