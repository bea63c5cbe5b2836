import { ClosedError, silentLogger } from '@relaybus/core';
import {
  type ConnectionStatus,
  type RedisConnectionOptions,
  RedisConnector,
  resolveRedisOptions,
} from '@relaybus/redis';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

let server: RedisServer;
let admin: Redis;
const connectors: RedisConnector[] = [];

beforeAll(async () => {
  server = await startRedis({ persistence: true });
  admin = new Redis(server.url, { maxRetriesPerRequest: null });
  admin.on('error', () => {});
});
afterEach(async () => {
  await Promise.all(connectors.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

function connector(options: RedisConnectionOptions = {}): RedisConnector {
  const made = new RedisConnector(resolveRedisOptions({ url: server.url, ...options }), silentLogger);
  connectors.push(made);
  return made;
}

function recordStatuses(made: RedisConnector): Array<[ConnectionStatus, string]> {
  const seen: Array<[ConnectionStatus, string]> = [];
  made.on('status', (status, detail) => seen.push([status, detail.role]));
  return seen;
}

/** Creates an ACL user that may do everything, with `password`. */
async function aclUser(password: string): Promise<string> {
  const user = randomSubject('user');
  await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all');
  return user;
}

describe('RedisConnector clients', () => {
  it('shares one client per role and names its connection', async () => {
    const made = connector({ connectionName: 'svc' });
    const publisher = made.client('publisher');
    expect(made.client('publisher')).toBe(publisher);
    expect(made.client('reader')).not.toBe(publisher);
    expect(await publisher.client('GETNAME')).toBe('svc:publisher');
    expect(made.isCluster).toBe(false);
    expect(made.keys.stream('orders')).toBe('relaybus:{orders}');
  });

  it('makes a new connection for each dedicated client', async () => {
    const made = connector();
    const shared = made.client('reader');
    const a = made.client('reader', { dedicated: true });
    const b = made.duplicateFor('reader');
    expect(new Set([shared, a, b]).size).toBe(3);
    const ids = await Promise.all([shared, a, b].map((c) => c.client('ID')));
    expect(new Set(ids).size).toBe(3);
    expect(made.health().clients).toBe(3);
  });

  it('lets a dedicated client block without holding up the shared one', async () => {
    const made = connector();
    const key = randomSubject('list');
    const blocked = made.duplicateFor('worker').blpop(key, 5);
    await made.client('publisher').rpush(key, 'job');
    expect(await blocked).toEqual([key, 'job']);
  });

  it('rejects an invalid role', () => {
    expect(() => connector().client('has space')).toThrow(/role/);
  });

  it('closes every client and then refuses new ones with ClosedError', async () => {
    const made = connector();
    const shared = made.client('publisher');
    const dedicated = made.duplicateFor('reader');
    await shared.ping();
    const pendingBlock = dedicated.blpop(randomSubject('never'), 0).catch((e: Error) => e);
    await until(async () => dedicated.status === 'ready');
    await made.close();
    await made.close();
    expect(shared.status).toBe('end');
    expect(dedicated.status).toBe('end');
    expect(await pendingBlock).toBeInstanceOf(Error);
    expect(made.health()).toEqual({ status: 'closed', connected: false, clients: 0 });
    expect(() => made.client('publisher')).toThrow(ClosedError);
  });
});

describe('RedisConnector status', () => {
  it('reports ready, reconnecting after a server restart, ready again, then closed', async () => {
    const made = connector({ maxRetriesPerRequest: null });
    const seen = recordStatuses(made);
    const client = made.client('publisher');
    expect(made.health().status).toBe('connecting');
    await until(() => made.health().status === 'ready', 5_000, 'first ready');
    expect(seen).toEqual([['ready', 'publisher']]);
    const key = randomSubject('status');
    await client.set(key, '1');

    await server.restart({ kill: true });
    await until(() => seen.some(([s]) => s === 'reconnecting'), 5_000, 'reconnecting');
    await until(() => seen.filter(([s]) => s === 'ready').length === 2, 10_000, 'ready again');
    expect(made.health().status).toBe('ready');
    expect(await client.get(key)).toBe('1');

    await made.close();
    expect(seen.at(-1)).toEqual(['closed', 'publisher']);
    const statuses = seen.map(([s]) => s);
    expect(statuses[0]).toBe('ready');
    expect(statuses.indexOf('reconnecting')).toBeGreaterThan(0);
    expect(statuses.lastIndexOf('ready')).toBeGreaterThan(statuses.indexOf('reconnecting'));
  });

  it('records the last connection error in health() while the server is unreachable', async () => {
    const spare = await startRedis();
    const url = spare.url;
    await spare.stop();
    const made = connector({ url, maxRetriesPerRequest: 0 });
    made.client('publisher');
    await until(() => made.health().lastError !== undefined, 5_000, 'an error in health()');
    expect(made.health().lastError).toMatch(/ECONNREFUSED/);
    expect(made.health().status).toBe('connecting');
  });

  it('never reports ready with a wrong password', async () => {
    const locked = await startRedis({ password: 'right' });
    try {
      const made = connector({
        url: `redis://127.0.0.1:${locked.port}`,
        password: 'wrong',
        maxRetriesPerRequest: 0,
      });
      const seen = recordStatuses(made);
      await expect(made.client('publisher').ping()).rejects.toThrow(/WRONGPASS|NOAUTH/);
      await until(() => /WRONGPASS/.test(made.health().lastError ?? ''), 5_000, 'WRONGPASS in health()');
      expect(seen.map(([s]) => s)).not.toContain('ready');
      await made.close();
    } finally {
      await locked.stop();
    }
  });
});

describe('RedisConnector authentication', () => {
  it('authenticates as an ACL user given as options and in the url', async () => {
    const user = await aclUser('pw-1');
    const byOptions = connector({ username: user, password: 'pw-1' }).client('publisher');
    expect(await byOptions.acl('WHOAMI')).toBe(user);
    const url = new URL(server.url);
    url.username = user;
    url.password = 'pw-1';
    const byUrl = new RedisConnector(resolveRedisOptions({ url: url.toString() }), silentLogger);
    connectors.push(byUrl);
    expect(await byUrl.client('publisher').acl('WHOAMI')).toBe(user);
  });

  it('calls the credentials provider again on every reconnect', async () => {
    const user = await aclUser('token-1');
    let token = 'token-1';
    let calls = 0;
    const made = connector({
      credentials: async () => {
        calls++;
        return { username: user, password: token };
      },
    });
    const seen = recordStatuses(made);
    const client = made.client('publisher');
    expect(await client.acl('WHOAMI')).toBe(user);
    expect(calls).toBe(1);

    // Rotate: the old token stops working, then the server drops the connection.
    token = 'token-2';
    await admin.call('ACL', 'SETUSER', user, 'resetpass', '>token-2');
    await admin.call('CLIENT', 'KILL', 'USER', user);
    await until(() => seen.filter(([s]) => s === 'ready').length === 2, 5_000, 'ready after the rotation');
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(await client.acl('WHOAMI')).toBe(user);
  });

  it('retries when the credentials provider fails, then connects', async () => {
    const user = await aclUser('pw-2');
    let calls = 0;
    const made = connector({
      credentials: async () => {
        calls++;
        if (calls < 3) throw new Error('vault unavailable');
        return { username: user, password: 'pw-2' };
      },
    });
    const client = made.client('publisher');
    expect(await client.acl('WHOAMI')).toBe(user);
    expect(calls).toBe(3);
    expect(made.health().lastError).toMatch(/vault unavailable/);
  });

  it('closes cleanly while the credentials provider is still pending', async () => {
    let release: (() => void) | undefined;
    const made = connector({
      credentials: () =>
        new Promise((resolve) => {
          release = () => resolve({ password: 'unused' });
        }),
    });
    const client = made.client('publisher');
    const pending = client.ping().catch((e: Error) => e);
    await until(() => release !== undefined);
    await made.close();
    release!();
    expect(await pending).toBeInstanceOf(Error);
    expect(client.status).toBe('end');
  });
});
