import { ConfigError, silentLogger } from '@relaybus/core';
import { RedisConnector, resolveRedisOptions } from '@relaybus/redis';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STREAMS_OPTIONS,
  type RedisStreamsOptions,
  RedisStreamsTransport,
  resolveStreamsOptions,
  streamsCapabilities,
} from '../src/index.js';

function optionOf(options: unknown): string | undefined {
  try {
    resolveStreamsOptions({ logger: silentLogger, ...(options as RedisStreamsOptions) });
  } catch (error) {
    if (error instanceof ConfigError) return error.option;
    throw error;
  }
  return undefined;
}

describe('RedisStreamsTransport options', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveStreamsOptions({ logger: silentLogger });
    expect(resolved.prefetch).toBe(DEFAULT_STREAMS_OPTIONS.prefetch);
    expect(resolved.blockMs).toBe(DEFAULT_STREAMS_OPTIONS.blockMs);
    expect(resolved.minIdleMs).toBe(30_000);
    expect(resolved.reclaimIntervalMs).toBe(5_000);
    expect(resolved.keepAliveIntervalMs).toBe(10_000);
    expect(resolved.defaults).toEqual({
      partitions: 1,
      ordered: false,
      maxLen: undefined,
      maxAgeMs: undefined,
      safe: false,
    });
    expect(resolved.ownsConnector).toBe(true);
  });

  it('derives the reclaim and keep-alive intervals from minIdleMs', () => {
    const resolved = resolveStreamsOptions({ logger: silentLogger, minIdleMs: 600 });
    expect(resolved.reclaimIntervalMs).toBe(300);
    // Keep-alive must run well inside minIdleMs so a held entry never looks idle.
    expect(resolved.keepAliveIntervalMs).toBeLessThan(600 / 2);
  });

  it.each([
    [{ prefetch: 0 }, 'prefetch'],
    [{ prefetch: 1.5 }, 'prefetch'],
    [{ blockMs: -1 }, 'blockMs'],
    [{ minIdleMs: 1 }, 'minIdleMs'],
    [{ maxDeliveries: -1 }, 'maxDeliveries'],
    [{ ackBatch: { maxSize: 0 } }, 'ackBatch.maxSize'],
    [{ ackBatch: { flushMs: 1 } }, 'ackBatch.flushMs'],
    [{ deadLetter: { maxLen: 0 } }, 'deadLetter.maxLen'],
    [{ defaults: { partitions: 0 } }, 'defaults.partitions'],
    [{ defaults: { partitions: 5000 } }, 'defaults.partitions'],
    [{ defaults: { ordered: 'yes' } }, 'defaults.ordered'],
    [{ subjects: { orders: { maxLen: 0 } } }, 'subjects.orders.maxLen'],
    [{ subjects: { 'bad subject': {} } }, 'subjects.bad subject'],
    [{ prefetc: 3 }, 'RedisStreamsTransport.prefetc'],
    [{ connection: { url: 'http://x' } }, 'connection.url'],
  ])('rejects %j naming %s', (options, option) => {
    expect(optionOf(options)).toBe(option);
  });

  it('lets subjects override the defaults', () => {
    const resolved = resolveStreamsOptions({
      logger: silentLogger,
      defaults: { maxLen: 1_000, partitions: 2 },
      subjects: { orders: { partitions: 8, ordered: true } },
    });
    expect(resolved.subjects.get('orders')).toEqual({
      partitions: 8,
      ordered: true,
      maxLen: 1_000,
      maxAgeMs: undefined,
      safe: false,
    });
  });

  it('uses a given RedisConnector without owning it', () => {
    const connector = new RedisConnector(resolveRedisOptions({}), silentLogger);
    const resolved = resolveStreamsOptions({ connection: connector, logger: silentLogger });
    expect(resolved.connector).toBe(connector);
    expect(resolved.ownsConnector).toBe(false);
  });

  it('declares per-key ordering only in ordered mode', () => {
    expect(new RedisStreamsTransport({ logger: silentLogger }).capabilities.ordering).toBe('none');
    expect(
      new RedisStreamsTransport({ logger: silentLogger, defaults: { ordered: true } }).capabilities.ordering,
    ).toBe('per-key');
    expect(streamsCapabilities(false)).toMatchObject({ persistent: true, redeliveryAfterCrash: true });
  });

  it('rejects bad subjects before any I/O', async () => {
    const transport = new RedisStreamsTransport({ logger: silentLogger });
    await expect(transport.publisher().publish('a b', { payload: new Uint8Array() })).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(transport.subscribe('orders:p1')).rejects.toBeInstanceOf(ConfigError);
    await transport.close();
  });
});
