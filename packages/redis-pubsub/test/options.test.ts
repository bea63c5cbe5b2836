import { ConfigError, silentLogger } from '@relaybus/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PUBSUB_OPTIONS, RedisPubSubTransport, resolvePubSubOptions } from '../src/index.js';

function optionOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).option;
  }
  throw new Error('expected a ConfigError');
}

describe('options', () => {
  it('applies DEFAULT_PUBSUB_OPTIONS', async () => {
    const resolved = resolvePubSubOptions({ logger: silentLogger });
    expect(resolved.mode).toBe(DEFAULT_PUBSUB_OPTIONS.mode);
    expect(resolved.bufferSize).toBe(DEFAULT_PUBSUB_OPTIONS.bufferSize);
    expect(resolved.overflow).toBe(DEFAULT_PUBSUB_OPTIONS.overflow);
    expect(resolved.rawContentType).toBe('application/octet-stream');
    expect(resolved.ownsConnector).toBe(true);
    await resolved.connector.close();
  });

  it('names the offending option and the allowed values', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ mode: 'fanout' }, 'mode', /"classic", "sharded"/],
      [{ overflow: 'block' }, 'overflow', /"drop-oldest", "drop-newest"/],
      [{ bufferSize: 0 }, 'bufferSize', /between 1 and/],
      [{ bufferSize: 1.5 }, 'bufferSize', /integer/],
      [{ rawContentType: '' }, 'rawContentType', /content type/],
      [{ topologyRefreshMs: 10 }, 'topologyRefreshMs', /at least 100/],
      [{ warnIntervalMs: -1 }, 'warnIntervalMs', />= 0/],
      [{ bufferSzie: 10 }, 'RedisPubSubTransport.bufferSzie', /unknown option/],
      [{ connection: { url: 'http://x' } }, 'connection.url', /scheme/],
      [{ logger: {} }, 'logger', /logger/],
    ];
    for (const [options, option, message] of cases) {
      expect(
        optionOf(() => new RedisPubSubTransport({ logger: silentLogger, ...options })),
        JSON.stringify(options),
      ).toBe(option);
      expect(() => new RedisPubSubTransport({ logger: silentLogger, ...options })).toThrow(message);
    }
  });

  it('accepts null as rawContentType (no header on plain messages)', async () => {
    const resolved = resolvePubSubOptions({ rawContentType: null, logger: silentLogger });
    expect(resolved.rawContentType).toBeNull();
    await resolved.connector.close();
  });

  it('declares Pub/Sub capabilities: nothing stored or acknowledged, fan-out, total order except classic on a Cluster', async () => {
    const classic = new RedisPubSubTransport({ logger: silentLogger });
    expect(classic.capabilities).toEqual({
      persistent: false,
      acknowledgements: false,
      requeue: false,
      delayedRequeue: false,
      delayedPublish: false,
      deadLetter: false,
      competingConsumers: false,
      fanOutGroups: true,
      ordering: 'total',
      history: false,
      redeliveryAfterCrash: false,
    });
    const clusterClassic = new RedisPubSubTransport({
      connection: { cluster: { nodes: ['127.0.0.1:1'] } },
      logger: silentLogger,
    });
    const clusterSharded = new RedisPubSubTransport({
      connection: { cluster: { nodes: ['127.0.0.1:1'] } },
      mode: 'sharded',
      logger: silentLogger,
    });
    expect(clusterClassic.capabilities.ordering).toBe('none');
    expect(clusterSharded.capabilities.ordering).toBe('total');
    await Promise.all([classic.close(), clusterClassic.close(), clusterSharded.close()]);
  });
});
