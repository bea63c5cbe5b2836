import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, silentLogger, type Transport } from '@relaybus/core';
import type { RedisConnectionOptions } from '@relaybus/redis';
import { RedisListsTransport } from '@relaybus/redis-lists';
import { RedisPubSubTransport } from '@relaybus/redis-pubsub';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import {
  createTestCertificates,
  type RedisServer,
  randomSubject,
  realRedisSuite,
  startRedis,
  until,
} from '@relaybus/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

let server: RedisServer;
let otherCa: string;
let otherDir: string;
const brokers: Broker[] = [];

const suite = realRedisSuite('TLS', 'TLS, which the embedded server does not speak', { local: true });

beforeAll(async () => {
  if (suite.skip) return;
  server = await startRedis({ tls: true, password: 'tls-secret', server: 'real' });
  // A CA that did not sign the server's certificate.
  otherDir = mkdtempSync(join(tmpdir(), 'relaybus-other-ca-'));
  otherCa = (await createTestCertificates(otherDir)).ca;
}, 60_000);

afterEach(async () => {
  await Promise.all(brokers.splice(0).map((broker) => broker.stop()));
});

afterAll(async () => {
  await server?.stop();
  if (otherDir) rmSync(otherDir, { recursive: true, force: true });
});

type Make = (connection: RedisConnectionOptions) => Transport;
const kinds: Array<[string, Make]> = [
  ['redis-streams', (connection) => new RedisStreamsTransport({ connection, logger: silentLogger })],
  ['redis-lists', (connection) => new RedisListsTransport({ connection, logger: silentLogger })],
  ['redis-pubsub', (connection) => new RedisPubSubTransport({ connection, logger: silentLogger })],
  [
    'redis-pubsub (sharded)',
    (connection) => new RedisPubSubTransport({ connection, mode: 'sharded', logger: silentLogger }),
  ],
];

describe.skipIf(suite.skip)(suite.title, () => {
  it.each(kinds)('%s publishes and consumes over rediss:// with the CA verified', async (_name, make) => {
    const tls = server.tls;
    if (tls === undefined) throw new Error('the server has no TLS endpoint');
    const transport = make({ url: tls.url, tls: { ca: tls.ca } });
    const broker = new Broker({ transport, logger: silentLogger });
    brokers.push(broker);
    const subject = randomSubject('tls');
    const seen: unknown[] = [];
    await broker.subscribe(subject, (body) => {
      seen.push(body);
    });
    await broker.publish(subject, { over: 'tls' });
    await until(() => seen.length === 1, 10_000, 'the message over TLS');
    expect(seen).toEqual([{ over: 'tls' }]);
    expect(transport.health?.().connected).toBe(true);
  });

  it.each(kinds)(
    '%s refuses a server its CA did not sign, with a clear certificate error',
    async (_name, make) => {
      const tls = server.tls;
      if (tls === undefined) throw new Error('the server has no TLS endpoint');
      const transport = make({ url: tls.url, tls: { ca: otherCa }, maxRetriesPerRequest: 0 });
      const broker = new Broker({ transport, logger: silentLogger });
      brokers.push(broker);
      const error = await broker.publish(randomSubject('tls'), { x: 1 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      await until(() => transport.health?.().lastError !== undefined, 10_000, 'a TLS error in health()');
      const lastError = String(transport.health?.().lastError);
      console.info(`security: tls wrong CA: ${lastError}`);
      expect(lastError).toMatch(/certificate/i);
      expect(transport.health?.().connected).toBe(false);
    },
  );
});
