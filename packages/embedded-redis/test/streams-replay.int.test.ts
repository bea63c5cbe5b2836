import { Redis } from 'iovalkey';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../testing/dist/index.js';
import type { Stream } from '../src/data/stream.js';
import { type EmbeddedRedis, ManualClock, startEmbeddedRedis } from '../src/index.js';
import { rawConnection } from './streams-harness.js';

/**
 * What the stream commands hand to persistence (the server's propagator, which feeds the AOF) must
 * rebuild the same streams when replayed later, on a clock an hour ahead: generated ids, trims by
 * `~`, and claims that depend on idle times are rewritten to deterministic forms, as Redis does.
 */

const START = 1_700_000_000_000;
const servers: EmbeddedRedis[] = [];
const clients: Redis[] = [];

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(servers.map((server) => server.close()));
});

interface Propagating {
  propagator: ((db: number, args: Buffer[]) => void) | undefined;
}

describe('stream commands propagate in replayable form', () => {
  it('rebuilds the same streams, groups and pending entries from the propagated commands', async () => {
    const clock = new ManualClock(START);
    const source = await startEmbeddedRedis({ clock });
    servers.push(source);
    const log: Buffer[][] = [];
    (source.server as unknown as Propagating).propagator = (_db, args) => {
      log.push(args.map((arg) => Buffer.from(arg)));
    };
    const a = new Redis(source.url);
    const b = new Redis(source.url);
    clients.push(a, b);

    for (let i = 0; i < 130; i++) {
      await a.xadd('s', 'MAXLEN', '~', '60', '*', 'n', String(i));
      if (i % 40 === 0) clock.advance(3);
    }
    await a.xadd('s', '*', 'n', 'last');
    await a.xadd('t', `${START}-*`, 'x', '1');
    await a.xgroup('CREATE', 's', 'g', '0');
    await a.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 20, 'STREAMS', 's', '>');
    clock.advance(5_000);
    await a.xreadgroup('GROUP', 'g', 'c2', 'COUNT', 5, 'STREAMS', 's', '>');
    const first = ((await a.xpending('s', 'g', '-', '+', 1)) as [string][])[0]?.[0] as string;
    // Only c1's entries are idle for 5 s; the min-idle filter must not differ on replay.
    const claimed = (await a.xautoclaim('s', 'g', 'c3', 4_000, '0', 'COUNT', 8)) as [
      string,
      unknown[],
      string[],
    ];
    expect(claimed[1]).toHaveLength(8);
    await a.xclaim('s', 'g', 'c4', 4_000, first, 'JUSTID');
    await a.xack('s', 'g', first);
    await a.xdel('s', claimed[0]);
    await a.xtrim('s', 'MINID', '~', `${START + 3}-0`);
    // A blocked read served by a later XADD.
    await a.xgroup('CREATE', 't', 'g', '$');
    const blocked = b.xreadgroup('GROUP', 'g', 'c5', 'BLOCK', 0, 'STREAMS', 't', '>');
    await until(async () => /blocked_clients:1/.test(await a.info('clients')), 10_000);
    await a.xadd('t', '*', 'x', '2');
    await blocked;

    const snapshot = async (client: Redis): Promise<unknown[]> => [
      await client.xrange('s', '-', '+'),
      await client.xrange('t', '-', '+'),
      await client.xinfo('STREAM', 's'),
      await client.xinfo('GROUPS', 's'),
      await client.xinfo('GROUPS', 't'),
      ((await client.xpending('s', 'g', '-', '+', 1_000)) as [string, string, number, number][]).map(
        ([id, consumer, , count]) => [id, consumer, count],
      ),
      await client.xpending('s', 'g'),
      await client.xpending('t', 'g'),
    ];
    const expected = await snapshot(a);

    const replayClock = new ManualClock(START + 3_600_000);
    const target = await startEmbeddedRedis({ clock: replayClock });
    servers.push(target);
    const raw = await rawConnection(target.port);
    for (const args of log) {
      const reply = await raw.send(args);
      expect(reply.startsWith('-'), `${args.map(String).join(' ')} → ${reply}`).toBe(false);
    }
    raw.close();
    const c = new Redis(target.url);
    clients.push(c);
    expect(await snapshot(c)).toEqual(expected);

    // An AOF rewrite's commands for the streams rebuild them too (but for pending entries whose
    // data was deleted, which XCLAIM drops on load as in Redis 7.0), and COPY copies them deeply.
    await a.xack('s', 'g', claimed[0]);
    const expectedRewrite = await snapshot(a);
    const rewritten = await startEmbeddedRedis({ clock: replayClock });
    servers.push(rewritten);
    const raw2 = await rawConnection(rewritten.port);
    for (const key of ['s', 't']) {
      const stream = source.server.database(0).get(key)?.value as Stream;
      for (const args of stream.rewriteCommands(Buffer.from(key))) {
        const reply = await raw2.send(args);
        expect(reply.startsWith('-'), `${args.map(String).join(' ')} → ${reply}`).toBe(false);
      }
    }
    raw2.close();
    const d = new Redis(rewritten.url);
    clients.push(d);
    expect(await snapshot(d)).toEqual(expectedRewrite);
    await c.copy('s', 'copy');
    await c.xack(
      's',
      'g',
      ...((await c.xpending('s', 'g', '-', '+', 1_000)) as [string][]).map(([id]) => id),
    );
    await c.xadd('s', '*', 'after', 'copy');
    await c.rename('copy', 's');
    expect(await snapshot(c)).toEqual(expected);
  });

  it('rewrites an empty stream with its ids and groups', async () => {
    const server = await startEmbeddedRedis();
    servers.push(server);
    const client = new Redis(server.url);
    clients.push(client);
    await client.xgroup('CREATE', 'e', 'g', '$', 'MKSTREAM');
    await client.xgroup('CREATECONSUMER', 'e', 'g', 'idle-one');
    await client.xadd('f', '7-1', 'a', 'b');
    await client.xdel('f', '7-1');
    const raw = await rawConnection(server.port);
    for (const key of ['e', 'f']) {
      const stream = server.server.database(0).get(key)?.value as Stream;
      const commands = stream.rewriteCommands(Buffer.from(`${key}2`));
      for (const args of commands) expect(await raw.send(args)).not.toMatch(/^-/);
      expect(await client.xinfo('STREAM', `${key}2`)).toEqual(await client.xinfo('STREAM', key));
    }
    raw.close();
    expect(await client.xinfo('GROUPS', 'e2')).toEqual(await client.xinfo('GROUPS', 'e'));
    expect(await client.xinfo('CONSUMERS', 'e2', 'g')).toHaveLength(1);
  });
});
