import { Broker, Reject, type Transport } from '@relaybus/core';
import type { RedisConnectionOptions } from '@relaybus/redis';
import { RedisListsTransport } from '@relaybus/redis-lists';
import { RedisPubSubTransport } from '@relaybus/redis-pubsub';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RecordingLogger } from './recording-logger.js';

const USER = 'relaybus-app';
/**
 * The least the transports need: keys under `relaybus:`, channels under `relaybus:`, and the
 * command families they use (streams, lists, sorted sets and strings for side keys, Pub/Sub,
 * scripts, MULTI, connection commands). No admin or dangerous commands.
 */
export const ACL_RULES = [
  'resetkeys',
  '~relaybus:*',
  'resetchannels',
  '&relaybus:*',
  '-@all',
  '+@connection',
  '+@read',
  '+@write',
  '+@stream',
  '+@list',
  '+@sortedset',
  '+@string',
  '+@hash',
  '+@pubsub',
  '+@scripting',
  '+@transaction',
  '-@dangerous',
  // iovalkey's ready check, and the clock the Lua scripts read.
  '+info',
  '+time',
  '+client|setname',
  '+client|id',
  '-script|flush',
  '-script|kill',
];

let server: RedisServer;
let admin: Redis;
const brokers: Broker[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
  await admin.call('ACL', 'SETUSER', USER, 'reset', 'on', '>first-password', ...ACL_RULES);
});

afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.stop()));
  for (const client of clients.splice(0)) client.disconnect();
});

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

type Make = (connection: RedisConnectionOptions, logger: RecordingLogger) => Transport;
const kinds: Array<[string, Make]> = [
  [
    'redis-streams',
    (connection, logger) => new RedisStreamsTransport({ connection, logger, minIdleMs: 500 }),
  ],
  ['redis-lists', (connection, logger) => new RedisListsTransport({ connection, logger })],
  [
    'redis-lists (simple)',
    (connection, logger) => new RedisListsTransport({ connection, logger, mode: 'simple' }),
  ],
  ['redis-pubsub', (connection, logger) => new RedisPubSubTransport({ connection, logger })],
  [
    'redis-pubsub (sharded)',
    (connection, logger) => new RedisPubSubTransport({ connection, mode: 'sharded', logger }),
  ],
];

function asUser(password: string): RedisConnectionOptions {
  return { url: `redis://${server.host}:${server.port}`, username: USER, password };
}

describe('ACL: a user restricted to ~relaybus:* and &relaybus:*', () => {
  it.each(kinds)('runs %s: publish, consume, retry and reject', async (name, make) => {
    const logger = new RecordingLogger();
    const transport = make(asUser('first-password'), logger);
    const broker = new Broker({ transport, logger });
    brokers.push(broker);
    const subject = randomSubject('acl');
    const handled: string[] = [];
    let attempts = 0;
    await broker.subscribe(
      subject,
      (body: { n: number }) => {
        attempts++;
        // The first message fails once (a retry, where there are retries); the second is refused.
        if (body.n === 1 && attempts === 1 && transport.capabilities.requeue) throw new Error('once');
        if (body.n === 2) throw new Reject('refused');
        handled.push(String(body.n));
      },
      { retry: { maxDeliveries: 3, backoff: { kind: 'fixed', delayMs: 50 } } },
    );
    await broker.publish(subject, { n: 1 });
    await broker.publish(subject, { n: 2 });
    await broker.publish(subject, { n: 3 });
    await until(() => handled.includes('1') && handled.includes('3'), 10_000, `${name} handles as ${USER}`);
    if (transport.capabilities.deadLetter) {
      await until(
        async () => ((await transport.deadLetters?.(subject)) ?? []).length === 1,
        10_000,
        'a dead letter',
      );
    }
    expect(logger.problems(/NOPERM|no permissions/i)).toEqual([]);
  });

  it("cannot read or write another prefix's keys or channels", async () => {
    await admin.xadd('other:{orders}', '*', 'p', 'secret order');
    await admin.lpush('other:{jobs}', 'secret job');
    const user = new Redis({
      host: server.host,
      port: server.port,
      username: USER,
      password: 'first-password',
    });
    clients.push(user);
    await expect(user.xrange('other:{orders}', '-', '+')).rejects.toThrow(/NOPERM/);
    await expect(user.lrange('other:{jobs}', 0, -1)).rejects.toThrow(/NOPERM/);
    await expect(user.xadd('other:{orders}', '*', 'p', 'forged')).rejects.toThrow(/NOPERM/);
    await expect(user.publish('other:{news}', 'x')).rejects.toThrow(/NOPERM/);
    await expect(user.call('KEYS', '*')).rejects.toThrow(/NOPERM/);
    await expect(user.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
    // Scripts run with the user's rights too: a script touching another prefix is refused.
    await expect(user.eval("return redis.call('LRANGE', KEYS[1], 0, -1)", 1, 'other:{jobs}')).rejects.toThrow(
      /NOPERM|permission/i,
    );

    // A transport configured with another prefix fails with a typed error, reading nothing.
    const logger = new RecordingLogger();
    const broker = new Broker({
      transport: new RedisStreamsTransport({
        connection: { ...asUser('first-password'), keyPrefix: 'other:' },
        logger,
      }),
      logger,
    });
    brokers.push(broker);
    const error = await broker.publish('orders', { forged: true }).catch((caught: unknown) => caught);
    expect(String(error)).toMatch(/NOPERM/);
    expect(await admin.xlen('other:{orders}')).toBe(1);
  });

  it('re-authenticates with the credentials provider after a password rotation and a reconnect', async () => {
    let password = 'first-password';
    let calls = 0;
    const logger = new RecordingLogger();
    const transport = new RedisStreamsTransport({
      connection: {
        url: `redis://${server.host}:${server.port}`,
        credentials: async () => {
          calls++;
          return { username: USER, password };
        },
      },
      logger,
    });
    const broker = new Broker({ transport, logger });
    brokers.push(broker);
    const subject = randomSubject('rotate');
    const handled = new Set<number>();
    await broker.subscribe(subject, (body: { n: number }) => {
      handled.add(body.n);
    });
    await broker.publish(subject, { n: 1 });
    await until(() => handled.has(1), 10_000, 'a message before the rotation');
    const callsBefore = calls;

    // Rotate: the old password stops working, the provider hands out the new one.
    await admin.call('ACL', 'SETUSER', USER, 'resetpass', '>second-password');
    password = 'second-password';
    const killed = (await admin.call('CLIENT', 'KILL', 'USER', USER)) as number;
    expect(killed).toBeGreaterThan(0);
    const check = new Redis(server.url);
    clients.push(check);
    await expect(check.call('AUTH', USER, 'first-password')).rejects.toThrow(/WRONGPASS/);
    expect(await check.call('AUTH', USER, 'second-password')).toBe('OK');

    await until(
      async () => {
        await broker.publish(subject, { n: 2 });
        return handled.has(2);
      },
      20_000,
      'publishing and consuming again with the new password',
    );
    expect(calls).toBeGreaterThan(callsBefore);
    const users = String(await admin.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => line.includes(`user=${USER}`));
    expect(users.length).toBeGreaterThan(0);
    await admin.call('ACL', 'SETUSER', USER, 'resetpass', '>first-password');
  });
});
