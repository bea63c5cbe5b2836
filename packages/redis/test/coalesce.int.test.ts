import { CommandCoalescer } from '@relaybus/redis';
import { type RedisServer, randomSubject, startRedis } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url, { lazyConnect: false });
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

/** Counts the commands Redis has processed so far (INFO stats). */
async function processed(): Promise<number> {
  const info = await client.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

describe('CommandCoalescer', () => {
  it('sends the commands of one tick together, in order, each promise with its own reply', async () => {
    const coalescer = new CommandCoalescer('RPUSH');
    const key = randomSubject('coalesce');
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => coalescer.send(client, key, [key, `v${i}`])),
    );
    // RPUSH answers the length after each push: 1, 2, … 50 proves one-by-one, in order.
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await client.lrange(key, 0, -1)).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
  });

  it('writes the commands of one tick to a connected socket in one write, without an iovalkey pipeline', async () => {
    const coalescer = new CommandCoalescer('rpush');
    const key = randomSubject('corked');
    await client.ping();
    const socket = client.stream as unknown as {
      _write: (...args: unknown[]) => void;
      _writev: (...args: unknown[]) => void;
    };
    const calls = { write: 0, writev: [] as number[], pipelines: 0 };
    const { _write: write, _writev: writev } = socket;
    const pipeline = client.pipeline;
    socket._write = function (this: unknown, ...args: unknown[]) {
      calls.write++;
      return write.apply(this, args);
    };
    socket._writev = function (this: unknown, ...args: unknown[]) {
      calls.writev.push((args[0] as unknown[]).length);
      return writev.apply(this, args);
    };
    client.pipeline = function (this: Redis, ...args: Parameters<Redis['pipeline']>) {
      calls.pipelines++;
      return pipeline.apply(this, args);
    };
    try {
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) => coalescer.send(client, key, [key, `v${i}`])),
      );
      expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      socket._write = write;
      socket._writev = writev;
      client.pipeline = pipeline;
    }
    expect(calls).toEqual({ write: 0, writev: [20], pipelines: 0 });
  });

  it('queues the commands of one tick on a client that is not connected yet, in order', async () => {
    const lazy = new Redis(server.url, { lazyConnect: true });
    try {
      const coalescer = new CommandCoalescer('rpush');
      const key = randomSubject('lazy');
      expect(lazy.status).toBe('wait');
      const replies = await Promise.all(
        Array.from({ length: 5 }, (_, i) => coalescer.send(lazy, key, [key, `v${i}`])),
      );
      expect(replies).toEqual([1, 2, 3, 4, 5]);
    } finally {
      lazy.disconnect();
    }
  });

  it('rejects only the commands of a tick that failed', async () => {
    const coalescer = new CommandCoalescer('incr');
    const good = randomSubject('good');
    const bad = randomSubject('bad');
    await client.set(bad, 'not a number');
    const outcomes = await Promise.allSettled([
      coalescer.send(client, 'lane', [good]),
      coalescer.send(client, 'lane', [bad]),
      coalescer.send(client, 'lane', [good]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toMatch(/not an integer/);
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 2 });
  });

  it('sends a lone command without a pipeline, and commands of later ticks separately', async () => {
    const coalescer = new CommandCoalescer('incr');
    const key = randomSubject('lone');
    const before = await processed();
    expect(await coalescer.send(client, key, [key])).toBe(1);
    expect(await coalescer.send(client, key, [key])).toBe(2);
    // Two INCRs and the INFO of this test, nothing else (no MULTI/EXEC around a pipeline).
    expect((await processed()) - before).toBe(3);
  });
});
