import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ClosedError, DecodeError, ErrorCode, silentLogger, TransportError } from '@relaybus/core';
import { hashSlot, type RedisConnectionOptions } from '@relaybus/redis';
import { randomSubject, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Cache, CacheSchemaError, cacheKeyNames, createCache } from '../src/index.js';
import type { RunningTarget, Target } from './targets.js';

const CHILD = fileURLToPath(new URL('./fixtures/cache-child.mjs', import.meta.url));

interface Child {
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  kill(): void;
}

function runChild(redis: RedisConnectionOptions, name: string, args: string[]): Child {
  const child: ChildProcess = spawn(process.execPath, [CHILD, JSON.stringify(redis), name, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { lines, exited, kill: () => child.kill('SIGKILL') };
}

/**
 * The cache's behaviour suite on one kind of Redis; skipped, with the reason printed, when the
 * target cannot run here.
 */
export async function describeCache(target: Target): Promise<void> {
  const reason = await target.unavailable();
  if (reason !== undefined) console.log(`relaybus cache: skipping the ${target.name} suite: ${reason}`);
  describe(`cache on ${target.name}`, () => {
    let running: RunningTarget;
    const caches: Cache<unknown>[] = [];

    function cache<T = unknown>(name: string, options: Record<string, unknown> = {}): Cache<T> {
      const made = createCache<T>({ redis: running.redis, name, logger: silentLogger, ...options });
      caches.push(made as Cache<unknown>);
      return made;
    }

    beforeAll(async () => {
      if (reason === undefined) running = await target.start();
    }, 60_000);

    afterAll(async () => {
      await Promise.allSettled(caches.map((made) => made.close()));
      await running?.stop();
    });

    /** How many connections subscribe to `channel`, summed over every (shard) server. */
    async function subscribers(channel: string): Promise<number> {
      if (!target.cluster) {
        const reply = (await running.raw.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
        return Number(reply[1]);
      }
      // Ask every primary itself: a Cluster client would send PUBSUB to any one node.
      const counts = await Promise.all(
        running.primaries.map(async (node) => {
          const [host, port] = node.split(':') as [string, string];
          const client = new Redis({ host, port: Number(port), lazyConnect: true });
          try {
            await client.connect();
            const reply = (await client.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
            return Number(reply[1]);
          } finally {
            client.disconnect();
          }
        }),
      );
      return counts.reduce((sum, count) => sum + count, 0);
    }

    describe.skipIf(reason !== undefined)('basics', () => {
      it('reads what was set, undefined on a miss, and deletes', async () => {
        const users = cache<{ id: number; name: string }>(randomSubject('users'));
        expect(await users.get('a')).toBeUndefined();
        expect(await users.has('a')).toBe(false);
        await users.set('a', { id: 1, name: 'Ada' });
        expect(await users.get('a')).toEqual({ id: 1, name: 'Ada' });
        expect(await users.has('a')).toBe(true);
        expect(await users.delete('a')).toBe(true);
        expect(await users.delete('a')).toBe(false);
        expect(await users.get('a')).toBeUndefined();
      });

      it('reports the time to live: undefined for no key, Infinity for none, else ms left', async () => {
        const c = cache(randomSubject('ttl'));
        expect(await c.ttl('k')).toBeUndefined();
        await c.set('k', 1);
        expect(await c.ttl('k')).toBe(Number.POSITIVE_INFINITY);
        await c.set('k', 1, { ttlMs: 60_000 });
        const left = await c.ttl('k');
        expect(left).toBeGreaterThan(50_000);
        expect(left).toBeLessThanOrEqual(60_000);
      });

      it('lets a value expire after its ttlMs', async () => {
        const c = cache(randomSubject('expiry'));
        await c.set('short', 'soon gone', { ttlMs: 300 });
        await c.set('long', 'stays');
        expect(await c.get('short')).toBe('soon gone');
        const started = Date.now();
        await until(async () => (await c.get('short')) === undefined, 10_000, 'the value to expire');
        expect(Date.now() - started).toBeGreaterThanOrEqual(150);
        expect(await c.has('short')).toBe(false);
        expect(await c.get('long')).toBe('stays');
      });

      it('applies the cache-wide ttlMs to writes without one', async () => {
        const c = cache(randomSubject('default-ttl'), { ttlMs: 30_000 });
        await c.set('k', 'v');
        expect(await c.ttl('k')).toBeLessThanOrEqual(30_000);
        expect(await c.ttl('k')).toBeGreaterThan(20_000);
      });

      it('getMany reads keys spread over every node, in order, with misses as undefined', async () => {
        const c = cache<number>(randomSubject('many'));
        const keys = Array.from({ length: 40 }, (_, index) => `key-${index}`);
        if (target.cluster) {
          const owners = new Set(
            await Promise.all(
              keys.map(async (key) => {
                const slot = hashSlot(cacheKeyNames('relaybus:', c.name, key).value);
                const ranges = (await running.raw.call('CLUSTER', 'SLOTS')) as Array<
                  [number, number, [string, number]]
                >;
                const range = ranges.find(([start, end]) => slot >= start && slot <= end)!;
                return `${range[2][0]}:${range[2][1]}`;
              }),
            ),
          );
          expect(owners.size).toBe(running.primaries.length);
        }
        await Promise.all(keys.map((key, index) => (index % 3 === 0 ? undefined : c.set(key, index))));
        const values = await c.getMany([...keys, 'never-set']);
        expect(values).toEqual([...keys.map((_, index) => (index % 3 === 0 ? undefined : index)), undefined]);
        expect(await c.getMany([])).toEqual([]);
      });

      it('keeps its keys under the prefix, in one slot per key', async () => {
        const name = randomSubject('layout');
        const c = cache(name, { prefix: 'other:' });
        await c.set('k}1', 'v');
        const names = cacheKeyNames('other:', name, 'k}1');
        expect(await running.raw.exists(names.value)).toBe(1);
        expect(hashSlot(names.lock)).toBe(hashSlot(names.value));
        expect(hashSlot(names.channel)).toBe(hashSlot(names.value));
        expect(await running.raw.exists(cacheKeyNames('relaybus:', name, 'k}1').value)).toBe(0);
      });
    });

    describe.skipIf(reason !== undefined)('wait', () => {
      it('resolves at once when the key holds a value', async () => {
        const c = cache(randomSubject('wait-now'));
        await c.set('k', 'there');
        expect(await c.wait('k', { timeoutMs: 5_000 })).toBe('there');
      });

      it('resolves when another process sets the key', async () => {
        const name = randomSubject('wait-child');
        const c = cache<{ from: string }>(name);
        const waiting = c.wait('k', { timeoutMs: 20_000 });
        // The child starts only once the wait is subscribed, so the value arrives as a message.
        await until(
          async () => (await subscribers(cacheKeyNames('relaybus:', name, 'k').channel)) === 1,
          10_000,
        );
        const child = runChild(running.redis, name, ['set', 'k', JSON.stringify({ from: 'child' })]);
        expect(await waiting).toEqual({ from: 'child' });
        expect(await child.exited).toBe(0);
        expect(child.lines).toContain('done');
      });

      it('with timeoutMs 0 reads once: the value when there is one, else undefined', async () => {
        const c = cache(randomSubject('wait-zero'));
        expect(await c.wait('k', { timeoutMs: 0 })).toBeUndefined();
        await c.set('k', 'now');
        expect(await c.wait('k', { timeoutMs: 0 })).toBe('now');
      });

      it('resolves undefined after timeoutMs', async () => {
        const c = cache(randomSubject('wait-timeout'));
        const started = Date.now();
        expect(await c.wait('k', { timeoutMs: 300 })).toBeUndefined();
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      });

      it('rejects with an AbortError when aborted, and leaves no subscription behind', async () => {
        const name = randomSubject('wait-abort');
        const c = cache(name);
        const controller = new AbortController();
        const waiting = c.wait('k', { signal: controller.signal });
        const channel = cacheKeyNames('relaybus:', name, 'k').channel;
        await until(async () => (await subscribers(channel)) === 1, 10_000);
        controller.abort();
        await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
        await until(async () => (await subscribers(channel)) === 0, 10_000, 'the unsubscribe');
        await expect(c.wait('k', { signal: AbortSignal.abort() })).rejects.toMatchObject({
          name: 'AbortError',
        });
      });

      it('sees a value set at the same instant as the wait starts (200 races)', async () => {
        const name = randomSubject('wait-race');
        const waiter = cache<number>(name);
        const writer = cache<number>(name);
        await writer.set('warm', 0);
        await waiter.get('warm');
        for (let round = 0; round < 200; round++) {
          const key = `race-${round}`;
          // Vary which side goes first: the write lands before, during or after the subscribe.
          const write = (): Promise<void> => writer.set(key, round);
          const started =
            round % 3 === 0
              ? [waiter.wait(key, { timeoutMs: 10_000 }), write()]
              : round % 3 === 1
                ? [write(), waiter.wait(key, { timeoutMs: 10_000 })].reverse()
                : [
                    waiter.wait(key, { timeoutMs: 10_000 }),
                    new Promise<void>((resolve) => setImmediate(resolve)).then(write),
                  ];
          const [seen] = await Promise.all(started);
          expect(seen).toBe(round);
        }
      });

      it('shares one subscription among the waiters of a key', async () => {
        const name = randomSubject('wait-shared');
        const c = cache<string>(name);
        const channel = cacheKeyNames('relaybus:', name, 'k').channel;
        const waits = Array.from({ length: 25 }, () => c.wait('k', { timeoutMs: 20_000 }));
        const other = c.wait('other', { timeoutMs: 20_000 });
        await until(async () => (await subscribers(channel)) === 1, 10_000);
        // Give every waiter its subscription before counting again: still one.
        await new Promise((resolve) => setImmediate(resolve));
        expect(await subscribers(channel)).toBe(1);
        await cache<string>(name).set('k', 'for all');
        expect(await Promise.all(waits)).toEqual(Array.from({ length: 25 }, () => 'for all'));
        await until(async () => (await subscribers(channel)) === 0, 10_000, 'the unsubscribe');
        await c.set('other', 'x');
        expect(await other).toBe('x');
      });

      it('rejects a pending wait with ClosedError on close, and later calls too', async () => {
        const name = randomSubject('wait-close');
        const c = cache(name);
        const waiting = c.wait('k');
        await until(
          async () => (await subscribers(cacheKeyNames('relaybus:', name, 'k').channel)) === 1,
          10_000,
        );
        const outcome = waiting.catch((error: unknown) => error);
        await c.close();
        expect(await outcome).toBeInstanceOf(ClosedError);
        await expect(c.get('k')).rejects.toBeInstanceOf(ClosedError);
      });
    });

    describe.skipIf(reason !== undefined)('getOrSet', () => {
      it('calls the producer once for 20 concurrent callers on 2 caches', async () => {
        const name = randomSubject('stampede');
        const first = cache<{ n: number }>(name);
        const second = cache<{ n: number }>(name);
        let calls = 0;
        const producer = async (): Promise<{ n: number }> => {
          calls++;
          await new Promise((resolve) => setTimeout(resolve, 150));
          return { n: 42 };
        };
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, index) =>
            (index % 2 === 0 ? first : second).getOrSet('k', producer, { ttlMs: 60_000 }),
          ),
        );
        expect(calls).toBe(1);
        expect(results).toEqual(Array.from({ length: 20 }, () => ({ n: 42 })));
        expect(await first.get('k')).toEqual({ n: 42 });
        expect(await first.ttl('k')).toBeLessThanOrEqual(60_000);
        expect(await running.raw.exists(cacheKeyNames('relaybus:', name, 'k').lock)).toBe(0);
      });

      it('returns the stored value without calling the producer', async () => {
        const c = cache<string>(randomSubject('stored'));
        await c.set('k', 'stored');
        let calls = 0;
        expect(
          await c.getOrSet('k', () => {
            calls++;
            return 'produced';
          }),
        ).toBe('stored');
        expect(calls).toBe(0);
      });

      it('lets a waiter produce at once when the producer fails', async () => {
        const name = randomSubject('failing');
        const a = cache<string>(name);
        const b = cache<string>(name);
        let releaseFailure: () => void = () => undefined;
        const failing = a.getOrSet(
          'k',
          () =>
            new Promise<string>((_, reject) => {
              releaseFailure = () => reject(new Error('producer broke'));
            }),
          { lockTtlMs: 60_000 },
        );
        await until(async () => (await running.raw.exists(cacheKeyNames('relaybus:', name, 'k').lock)) === 1);
        const started = Date.now();
        const waiting = b.getOrSet('k', () => 'second', { lockTtlMs: 60_000 });
        await until(async () => (await subscribers(cacheKeyNames('relaybus:', name, 'k').channel)) >= 1);
        releaseFailure();
        await expect(failing).rejects.toThrow('producer broke');
        expect(await waiting).toBe('second');
        expect(Date.now() - started).toBeLessThan(30_000);
      });

      it('rejects a waiting getOrSet with an AbortError when aborted; the producer carries on', async () => {
        const name = randomSubject('abort-getorset');
        const c = cache<string>(name);
        let finish: (value: string) => void = () => undefined;
        const producing = c.getOrSet('k', () => new Promise<string>((resolve) => (finish = resolve)));
        await until(async () => (await running.raw.exists(cacheKeyNames('relaybus:', name, 'k').lock)) === 1);
        const controller = new AbortController();
        const waiting = c.getOrSet('k', () => 'never', { signal: controller.signal });
        const outcome = waiting.catch((error: unknown) => error);
        await until(async () => (await subscribers(cacheKeyNames('relaybus:', name, 'k').channel)) === 1);
        controller.abort();
        expect(await outcome).toMatchObject({ name: 'AbortError' });
        finish('made');
        expect(await producing).toBe('made');
        expect(await c.get('k')).toBe('made');
      });

      it('takes over when the lock holder dies (its lock expires)', async () => {
        const name = randomSubject('holder-dies');
        const holder = runChild(running.redis, name, ['hold', 'k', '800']);
        try {
          await until(() => holder.lines.includes('producing'), 20_000, 'the child to hold the lock');
          const c = cache<string>(name);
          let calls = 0;
          const taking = c.getOrSet(
            'k',
            () => {
              calls++;
              return 'after the crash';
            },
            { lockTtlMs: 800 },
          );
          // The child renews its lock while it lives: nobody else produces meanwhile.
          await new Promise((resolve) => setTimeout(resolve, 1_200));
          expect(calls).toBe(0);
          holder.kill();
          await holder.exited;
          expect(await taking).toBe('after the crash');
          expect(calls).toBe(1);
        } finally {
          holder.kill();
        }
      });
    });

    describe.skipIf(reason !== undefined)('failures', () => {
      it('rejects bad stored data with a DecodeError', async () => {
        const name = randomSubject('bad-data');
        const c = cache(name, { codec: (await import('@relaybus/core')).jsonCodec });
        await running.raw.set(cacheKeyNames('relaybus:', name, 'k').value, '{not json');
        const error = await c.get('k').catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(DecodeError);
        expect((error as DecodeError).code).toBe(ErrorCode.DecodeFailed);
        await expect(c.wait('k', { timeoutMs: 1_000 })).rejects.toBeInstanceOf(DecodeError);
        await expect(c.getMany(['k'])).rejects.toBeInstanceOf(DecodeError);
      });

      it('rejects a value the schema refuses with a CacheSchemaError', async () => {
        const name = randomSubject('schema');
        const User = z.object({ id: z.number(), name: z.string() });
        const typed = cache(name, { schema: User });
        const untyped = cache(name);
        await untyped.set('good', { id: 1, name: 'Ada' });
        await untyped.set('bad', { id: 'one' });
        expect(await typed.get('good')).toEqual({ id: 1, name: 'Ada' });
        const error = await typed.get('bad').catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(CacheSchemaError);
        expect((error as CacheSchemaError).code).toBe(ErrorCode.DecodeFailed);
        expect((error as CacheSchemaError).reason).toMatch(/^id: /);
        const waiting = typed.wait('later', { timeoutMs: 10_000 });
        await until(
          async () => (await subscribers(cacheKeyNames('relaybus:', name, 'later').channel)) === 1,
          10_000,
        );
        const outcome = waiting.catch((caught: unknown) => caught);
        await untyped.set('later', { id: 2 });
        expect(await outcome).toBeInstanceOf(CacheSchemaError);
      });

      it.skipIf(target.cluster)('rejects with a TransportError when Redis is unreachable', async () => {
        const c = createCache({
          redis: { url: 'redis://127.0.0.1:1', maxRetriesPerRequest: 0, connectTimeoutMs: 1_000 },
          name: 'unreachable',
          logger: silentLogger,
        });
        caches.push(c);
        const error = await c.get('k').catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(TransportError);
        expect((error as TransportError).code).toBe(ErrorCode.Transport);
        await c.close();
      });
    });
  });
}
