import { ConfigError, silentLogger } from '@relaybus/core';
import { RedisConnector, resolveRedisOptions } from '@relaybus/redis';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LISTS_OPTIONS,
  listsCapabilities,
  type RedisListsOptions,
  RedisListsTransport,
  resolveListsOptions,
} from '../src/index.js';

function optionOf(options: RedisListsOptions): string | undefined {
  try {
    resolveListsOptions({ logger: silentLogger, ...options });
  } catch (error) {
    if (error instanceof ConfigError) return error.option;
    throw error;
  }
  return undefined;
}

describe('options', () => {
  it('applies the defaults, deriving heartbeat and reaper intervals from the heartbeat TTL', () => {
    const resolved = resolveListsOptions({ logger: silentLogger });
    expect(resolved).toMatchObject({
      mode: 'reliable',
      prefetch: DEFAULT_LISTS_OPTIONS.prefetch,
      blockMs: DEFAULT_LISTS_OPTIONS.blockMs,
      heartbeatTtlMs: 30_000,
      heartbeatMs: 10_000,
      reapIntervalMs: 15_000,
      maxDeliveries: 0,
      delayedPollMs: 1_000,
      deadLetterMaxLen: 10_000,
      ownsConnector: true,
    });
    expect(resolveListsOptions({ logger: silentLogger, heartbeatTtlMs: 600 })).toMatchObject({
      heartbeatMs: 200,
      reapIntervalMs: 300,
    });
  });

  it('rejects wrong options with a ConfigError naming the option', () => {
    expect(optionOf({ mode: 'fast' as never })).toBe('mode');
    expect(optionOf({ prefetch: 0 })).toBe('prefetch');
    expect(optionOf({ prefetch: 1.5 })).toBe('prefetch');
    expect(optionOf({ blockMs: 5 })).toBe('blockMs');
    expect(optionOf({ heartbeatTtlMs: 50 })).toBe('heartbeatTtlMs');
    expect(optionOf({ heartbeatTtlMs: 1_000, heartbeatMs: 600 })).toBe('heartbeatMs');
    expect(optionOf({ reapIntervalMs: -1 })).toBe('reapIntervalMs');
    expect(optionOf({ maxDeliveries: -1 })).toBe('maxDeliveries');
    expect(optionOf({ delayedPollMs: 0 })).toBe('delayedPollMs');
    expect(optionOf({ deadLetter: { maxLen: 0 } })).toBe('deadLetter.maxLen');
    expect(optionOf({ deadLetter: { max: 1 } as never })).toBe('deadLetter.max');
    expect(optionOf({ prefetc: 1 } as never)).toBe('RedisListsTransport.prefetc');
    expect(optionOf({ connection: { url: 'http://x' } })).toBe('connection.url');
    expect(optionOf({ logger: {} as never })).toBe('logger');
  });

  it('uses a given connector without owning it', () => {
    const connector = new RedisConnector(resolveRedisOptions({}), silentLogger);
    const resolved = resolveListsOptions({ connection: connector, logger: silentLogger });
    expect(resolved.connector).toBe(connector);
    expect(resolved.ownsConnector).toBe(false);
  });
});

describe('capabilities', () => {
  it('reliable mode acknowledges, requeues and redelivers after a crash', () => {
    expect(listsCapabilities('reliable')).toEqual({
      persistent: true,
      acknowledgements: true,
      requeue: true,
      delayedRequeue: true,
      delayedPublish: true,
      deadLetter: true,
      competingConsumers: true,
      fanOutGroups: false,
      ordering: 'none',
      history: false,
      redeliveryAfterCrash: true,
    });
  });

  it('simple mode acknowledges nothing', () => {
    expect(listsCapabilities('simple')).toMatchObject({
      acknowledgements: false,
      requeue: false,
      delayedRequeue: false,
      redeliveryAfterCrash: false,
      deadLetter: true,
      competingConsumers: true,
      fanOutGroups: false,
    });
  });

  it('the transport declares the capabilities of its mode', () => {
    const simple = new RedisListsTransport({ mode: 'simple', logger: silentLogger });
    expect(simple.capabilities).toEqual(listsCapabilities('simple'));
    expect(simple.name).toBe('redis-lists');
  });
});

describe('subscribe options', () => {
  it('rejects a bad consumer name, prefetch or startFrom before touching Redis', async () => {
    const transport = new RedisListsTransport({
      connection: { url: 'redis://127.0.0.1:1' },
      logger: silentLogger,
    });
    await expect(transport.subscribe('jobs', { consumer: 'has space' })).rejects.toMatchObject({
      option: 'consumer',
    });
    await expect(transport.subscribe('jobs', { consumer: 'a{b}' })).rejects.toMatchObject({
      option: 'consumer',
    });
    await expect(transport.subscribe('jobs', { prefetch: 0 })).rejects.toMatchObject({ option: 'prefetch' });
    await expect(transport.subscribe('jobs', { startFrom: 'end' as never })).rejects.toMatchObject({
      option: 'startFrom',
    });
    await expect(transport.subscribe('bad subject')).rejects.toMatchObject({ option: 'subject' });
    await transport.close();
  });
});
