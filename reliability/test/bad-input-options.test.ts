import {
  Broker,
  ConfigError,
  ErrorCode,
  isRelaybusError,
  silentLogger,
  type Transport,
} from '@relaybus/core';
import { RedisListsTransport } from '@relaybus/redis-lists';
import { RedisPubSubTransport } from '@relaybus/redis-pubsub';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

type Options = Record<string, unknown>;
type Make = (options: Options) => Transport;

const made: Transport[] = [];
afterAll(async () => {
  await Promise.all(made.map((transport) => transport.close()));
});

const transports: Array<[string, Make, ReadonlyArray<[string, Options, string]>]> = [
  [
    'RedisStreamsTransport',
    (options) => new RedisStreamsTransport(options),
    [
      ['negative minIdleMs', { minIdleMs: -5 }, 'minIdleMs'],
      ['an ackBatch of 0', { ackBatch: { maxSize: 0 } }, 'ackBatch.maxSize'],
      ['an unknown ackBatch key', { ackBatch: { size: 1 } }, 'ackBatch.size'],
      ['0 partitions', { defaults: { partitions: 0 } }, 'defaults.partitions'],
      ['a million partitions', { defaults: { partitions: 1_000_000 } }, 'defaults.partitions'],
      ['a subject with a space', { subjects: { 'a b': {} } }, 'subjects.a b'],
      ['a lease of 0 ms', { leaseMs: 0 }, 'leaseMs'],
      ['a string maxDeliveries', { maxDeliveries: '3' }, 'maxDeliveries'],
    ],
  ],
  [
    'RedisListsTransport',
    (options) => new RedisListsTransport(options),
    [
      ['an unknown mode', { mode: 'fast' }, 'mode'],
      ['a heartbeat TTL of 0', { heartbeatTtlMs: 0 }, 'heartbeatTtlMs'],
      ['a heartbeat slower than its TTL', { heartbeatTtlMs: 1_000, heartbeatMs: 5_000 }, 'heartbeatMs'],
      ['a negative dead-letter maxLen', { deadLetter: { maxLen: -1 } }, 'deadLetter.maxLen'],
      ['a fractional delayedPollMs', { delayedPollMs: 2.5 }, 'delayedPollMs'],
    ],
  ],
  [
    'RedisPubSubTransport',
    (options) => new RedisPubSubTransport(options),
    [
      ['an unknown mode', { mode: 'broadcast' }, 'mode'],
      ['a buffer of 0', { bufferSize: 0 }, 'bufferSize'],
      ['an absurd buffer', { bufferSize: 1e12 }, 'bufferSize'],
      ['an unknown overflow policy', { overflow: 'drop-all' }, 'overflow'],
      ['a numeric rawContentType', { rawContentType: 5 }, 'rawContentType'],
      ['a negative topologyRefreshMs', { topologyRefreshMs: -1 }, 'topologyRefreshMs'],
    ],
  ],
];

/** Options every transport validates the same way (connection and the shared numbers). */
const common: ReadonlyArray<[string, Options, string]> = [
  ['an http:// url', { connection: { url: 'http://127.0.0.1:6379' } }, 'connection.url'],
  ['a url that is no url', { connection: { url: 'not a url' } }, 'connection.url'],
  ['a port above 65535', { connection: { url: 'redis://127.0.0.1:99999' } }, 'connection.url'],
  ['a database that is no number', { connection: { url: 'redis://127.0.0.1:6379/x' } }, 'connection.url'],
  ['a query string', { connection: { url: 'redis://127.0.0.1:6379?tls=true' } }, 'connection.url'],
  ['a numeric url', { connection: { url: 6379 } }, 'connection.url'],
  [
    'url and cluster together',
    { connection: { url: 'redis://h:1', cluster: { nodes: ['h:2'] } } },
    'connection.cluster',
  ],
  ['an empty cluster', { connection: { cluster: { nodes: [] } } }, 'connection.cluster.nodes'],
  [
    'a cluster node without port',
    { connection: { cluster: { nodes: ['h'] } } },
    'connection.cluster.nodes[0]',
  ],
  ['a negative connect timeout', { connection: { connectTimeoutMs: -1 } }, 'connection.connectTimeoutMs'],
  ['an absurd connect timeout', { connection: { connectTimeoutMs: 1e12 } }, 'connection.connectTimeoutMs'],
  [
    'negative maxRetriesPerRequest',
    { connection: { maxRetriesPerRequest: -1 } },
    'connection.maxRetriesPerRequest',
  ],
  ['a key prefix with a brace', { connection: { keyPrefix: 'a{b' } }, 'connection.keyPrefix'],
  ['a numeric TLS CA', { connection: { tls: { ca: 5 } } }, 'connection.tls.ca'],
  ['an unknown TLS key', { connection: { tls: { verify: false } } }, 'connection.tls.verify'],
  ['an unknown connection key', { connection: { hostname: 'x' } }, 'connection.hostname'],
  [
    'credentials with a password',
    { connection: { credentials: async () => ({ password: 'p' }), password: 'p' } },
    'connection.credentials',
  ],
  ['a logger that is no logger', { logger: {} }, 'logger'],
];

const bannedNumbers: ReadonlyArray<[string, unknown]> = [
  ['negative', -1],
  ['zero', 0],
  ['fractional', 1.5],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['absurd', 1e12],
  ['a string', '10'],
];

function expectConfigError(make: () => unknown, option: string): void {
  let thrown: unknown;
  try {
    make();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `no error for ${option}`).toBeInstanceOf(ConfigError);
  expect(isRelaybusError(thrown, ErrorCode.InvalidOption)).toBe(true);
  expect((thrown as ConfigError).option).toBe(option);
  expect((thrown as ConfigError).message).toContain(option);
}

describe.each(transports)('%s options', (name, make, specific) => {
  const build = (options: Options): Transport => {
    const transport = make({ logger: silentLogger, ...options });
    made.push(transport);
    return transport;
  };

  it.each([...common, ...specific])(
    'rejects %s at construction, naming the option',
    (_what, options, option) => {
      expectConfigError(() => build(options), option);
    },
  );

  // Pub/Sub has no prefetch or blocking reads; its bound is the buffer.
  const numeric = name === 'RedisPubSubTransport' ? ['bufferSize'] : ['prefetch', 'blockMs'];
  it.each(bannedNumbers)(`rejects a %s ${numeric.join(' and ')}, naming the option`, (_what, value) => {
    for (const option of numeric) expectConfigError(() => build({ [option]: value }), option);
  });

  it('rejects any unknown top-level key, naming it', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }).filter((key) => !isKnownOption(key)),
        (key) => {
          let thrown: unknown;
          try {
            build(Object.fromEntries([[key, 1]]));
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(ConfigError);
          expect((thrown as ConfigError).option).toBe(`${name}.${key}`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a url of any other scheme, never echoing its password', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('http', 'https', 'tcp', 'unix', 'rediss+tls', 'valkey'),
        fc.string({ minLength: 4, maxLength: 12 }).filter((secret) => /^[A-Za-z0-9]+$/.test(secret)),
        (scheme, secret) => {
          let thrown: unknown;
          try {
            build({ connection: { url: `${scheme}://user:${secret}@127.0.0.1:6379` } });
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(ConfigError);
          expect((thrown as ConfigError).option).toBe('connection.url');
          expect((thrown as ConfigError).message).not.toContain(secret);
        },
      ),
      { numRuns: 100 },
    );
  });
});

const KNOWN_OPTIONS = new Set([
  'connection',
  'logger',
  'prefetch',
  'blockMs',
  'minIdleMs',
  'reclaimIntervalMs',
  'maxDeliveries',
  'ackBatch',
  'delayedPollMs',
  'deadLetter',
  'defaults',
  'subjects',
  'janitorIntervalMs',
  'idleConsumerMs',
  'leaseMs',
  'mode',
  'heartbeatTtlMs',
  'heartbeatMs',
  'reapIntervalMs',
  'bufferSize',
  'overflow',
  'rawContentType',
  'topologyRefreshMs',
  'warnIntervalMs',
]);

function isKnownOption(key: string): boolean {
  return KNOWN_OPTIONS.has(key);
}

describe('Broker options', () => {
  const transport = (): Transport => {
    const made_ = new RedisStreamsTransport({ logger: silentLogger });
    made.push(made_);
    return made_;
  };
  const cases: ReadonlyArray<[string, Options, string]> = [
    ['no transport', {}, 'transport'],
    ['a transport that is no transport', { transport: {} }, 'transport'],
    ['a codec that is no codec', { codec: {} }, 'codec'],
    ['a negative stop deadline', { stopDeadlineMs: -1 }, 'stopDeadlineMs'],
    ['an infinite stop deadline', { stopDeadlineMs: Number.POSITIVE_INFINITY }, 'stopDeadlineMs'],
    ['middleware that is no array', { middleware: 'log' }, 'middleware'],
    ['an unknown key', { retries: 3 }, 'broker.retries'],
    ['maxMessageBytes 0', { maxMessageBytes: 0 }, 'maxMessageBytes'],
    ['a fractional maxMessageBytes', { maxMessageBytes: 1.5 }, 'maxMessageBytes'],
    ['a string maxMessageBytes', { maxMessageBytes: '1mb' }, 'maxMessageBytes'],
  ];

  it.each(cases)('rejects %s at construction, naming the option', (_what, options, option) => {
    const withTransport = option.startsWith('transport') ? options : { transport: transport(), ...options };
    expectConfigError(() => new Broker({ logger: silentLogger, ...withTransport } as never), option);
  });

  const handlerCases: ReadonlyArray<[string, Options, string]> = [
    ['concurrency 0', { concurrency: 0 }, 'concurrency'],
    ['a fractional prefetch', { prefetch: 2.5 }, 'prefetch'],
    ['retry.maxDeliveries 0', { retry: { maxDeliveries: 0 } }, 'retry.maxDeliveries'],
    ['a negative backoff', { retry: { backoff: { kind: 'fixed', delayMs: -1 } } }, 'retry.backoff.delayMs'],
    ['an unknown backoff', { retry: { backoff: { kind: 'random' } } }, 'retry.backoff.kind'],
    ['an unknown subscribe key', { prefetchCount: 1 }, 'subscribe.prefetchCount'],
    ['a schema that is no schema', { schema: {} }, 'schema'],
  ];

  it.each(handlerCases)(
    'refuses a subscription with %s before connecting, naming the option',
    async (_what, options, option) => {
      const broker = new Broker({ transport: transport(), logger: silentLogger });
      const error = await broker
        .subscribe('orders', () => undefined, options as never)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    },
  );
});
