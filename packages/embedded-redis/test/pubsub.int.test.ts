import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSubject, until } from '../../testing/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

/** Pub/Sub end to end through iovalkey against the embedded server, as the Pub/Sub transport uses it. */

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

describe('Pub/Sub through iovalkey', () => {
  it('delivers binary messages to channel and pattern subscribers and counts receivers', async () => {
    const [sub, psub, pub] = [connect(), connect(), connect()];
    const channel = randomSubject('news');
    const got: [string, Buffer][] = [];
    const pgot: [string, string, Buffer][] = [];
    sub.on('messageBuffer', (ch: Buffer, message: Buffer) => got.push([ch.toString(), message]));
    psub.on('pmessageBuffer', (pattern: Buffer, ch: Buffer, message: Buffer) =>
      pgot.push([pattern.toString(), ch.toString(), message]),
    );
    expect(await sub.subscribe(channel)).toBe(1);
    expect(await psub.psubscribe(`${channel.slice(0, -3)}*`)).toBe(1);
    const payload = Buffer.from([0, 1, 2, 255, 13, 10]);
    expect(await pub.publish(channel, payload)).toBe(2);
    await until(() => got.length === 1 && pgot.length === 1, 10_000);
    expect(got[0]).toEqual([channel, payload]);
    expect(pgot[0]).toEqual([`${channel.slice(0, -3)}*`, channel, payload]);
    expect(await pub.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
    expect(await pub.pubsub('NUMPAT')).toBeGreaterThanOrEqual(1);
    expect(await pub.pubsub('CHANNELS', channel)).toEqual([channel]);
  });

  it('delivers sharded messages with SSUBSCRIBE/SPUBLISH and stops after SUNSUBSCRIBE', async () => {
    const [sub, pub] = [connect(), connect()];
    const channel = randomSubject('shard');
    const got: Buffer[] = [];
    sub.on('smessageBuffer', (_ch: Buffer, message: Buffer) => got.push(message));
    await sub.ssubscribe(channel);
    expect(await pub.spublish(channel, 'one')).toBe(1);
    await until(() => got.length === 1, 10_000);
    expect(got[0]?.toString()).toBe('one');
    expect(await pub.pubsub('SHARDNUMSUB', channel)).toEqual([channel, 1]);
    expect(await pub.pubsub('SHARDCHANNELS', channel)).toEqual([channel]);
    await sub.sunsubscribe(channel);
    expect(await pub.spublish(channel, 'two')).toBe(0);
    expect(await pub.pubsub('SHARDCHANNELS', channel)).toEqual([]);
  });

  it('forgets every subscription of a subscriber that disconnects', async () => {
    const [sub, pub] = [connect(), connect()];
    const channel = randomSubject('gone');
    await sub.subscribe(channel);
    await sub.psubscribe(`${channel}*`);
    await sub.ssubscribe(channel);
    expect(await pub.publish(channel, 'x')).toBe(2);
    sub.disconnect();
    await until(async () => (await pub.publish(channel, 'x')) === 0, 10_000);
    expect(await pub.spublish(channel, 'x')).toBe(0);
    expect(await pub.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
  });

  it('fans one publish out to many subscribers, each once', async () => {
    const pub = connect();
    const channel = randomSubject('fan');
    const counts = new Array<number>(20).fill(0);
    const subs = Array.from({ length: 20 }, () => connect());
    await Promise.all(
      subs.map(async (sub, i) => {
        sub.on('message', () => {
          counts[i] = (counts[i] as number) + 1;
        });
        await sub.subscribe(channel);
      }),
    );
    for (let n = 0; n < 50; n++) expect(await pub.publish(channel, String(n))).toBe(20);
    await until(() => counts.every((count) => count === 50), 10_000);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1000);
  });
});
