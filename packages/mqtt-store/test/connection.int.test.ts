import { silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, realRedisSuite, startRedis } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStores } from '../src/index.js';

let server: RedisServer;
const USER = 'mqtt-tenant-a';
const PASSWORD = 'tenant-a-pw';

const suite = realRedisSuite(
  'MQTT stores over TLS as an ACL user from a credentials provider',
  'TLS, which the embedded server does not speak',
  { local: true },
);

beforeAll(async () => {
  if (suite.skip) return;
  server = await startRedis({ tls: true, password: 'admin-pw', server: 'real' });
  const admin = new Redis(server.url, { lazyConnect: true });
  await admin.connect();
  // May touch only keys under its own prefix: a key outside it fails the script with NOPERM.
  await admin.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~tenant-a:*', '+@all');
  admin.disconnect();
});

afterAll(async () => {
  await server?.stop();
});

describe.skipIf(suite.skip)(suite.title, () => {
  it('stores, streams and deletes under the connection key prefix', async () => {
    let asked = 0;
    const tls = server.tls!;
    const { outgoingStore } = createRedisStores({
      redis: {
        url: `rediss://127.0.0.1:${tls.port}`,
        tls: { ca: tls.ca },
        keyPrefix: 'tenant-a:',
        credentials: async () => {
          asked++;
          return { username: USER, password: PASSWORD };
        },
      },
      clientId: randomSubject('tls'),
      brokerUrl: 'mqtts://broker.test:8883',
      logger: silentLogger,
    });
    const packet: Packet = {
      cmd: 'publish',
      topic: 't',
      payload: Buffer.from('secure'),
      qos: 1,
      dup: false,
      retain: false,
      messageId: 9,
    };
    expect(outgoingStore.keys.entries.startsWith('tenant-a:mqtt:{')).toBe(true);
    expect(await outgoingStore.putAsync(packet)).toBe(true);
    const streamed: Packet[] = [];
    for await (const item of outgoingStore.createStream()) streamed.push(item as Packet);
    expect(streamed).toEqual([packet]);
    expect(await outgoingStore.delAsync({ messageId: 9 })).toEqual(packet);
    expect(await outgoingStore.size()).toBe(0);
    expect(asked).toBeGreaterThanOrEqual(1);
    await outgoingStore.closeAsync();
  });

  it('fails the call (no silent loss) when the ACL user may not touch the keys', async () => {
    const tls = server.tls!;
    const { outgoingStore } = createRedisStores({
      redis: { url: `rediss://${USER}:${PASSWORD}@127.0.0.1:${tls.port}`, tls: { ca: tls.ca } },
      clientId: randomSubject('denied'),
      brokerUrl: 'b',
      logger: silentLogger,
    });
    const error = await new Promise<Error | undefined>((resolve) =>
      outgoingStore.put({ cmd: 'pubrel', messageId: 1 }, resolve),
    );
    expect(error?.message).toMatch(/NOPERM/);
    await outgoingStore.closeAsync();
  });
});
