/**
 * A child process for the "no secrets in logs" test: makes every transport and a Broker fail in
 * the ways that carry credentials (a URL with a password to a closed port, a wrong password, a
 * wrong ACL user password, a credentials provider giving a wrong one), with relaybus's default
 * pino logger at debug, and prints every error a caller gets with `util.inspect` (cause chain and
 * all enumerable properties). The test scans everything this process wrote for the secrets.
 *
 * Usage: RELAYBUS_LOG_LEVEL=debug node log-probe.js '<json LogProbeConfig>'
 */
import { inspect } from 'node:util';
import { Broker, isRelaybusError, type Transport } from '@relaybus/core';
import type { RedisConnectionOptions } from '@relaybus/redis';
import { RedisListsTransport } from '@relaybus/redis-lists';
import { RedisPubSubTransport } from '@relaybus/redis-pubsub';
import { RedisStreamsTransport } from '@relaybus/redis-streams';

/** What the probe is told. */
export interface LogProbeConfig {
  /** A reachable server that requires a password (`host:port`). */
  readonly server: string;
  /** A port nothing listens on. */
  readonly closedPort: number;
  /** The secrets to use (each wrong for the server). */
  readonly urlSecret: string;
  readonly optionSecret: string;
  readonly providerSecret: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as LogProbeConfig;
const OP_TIMEOUT_MS = 4_000;

function print(label: string, value: unknown): void {
  process.stdout.write(
    `probe ${label}: ${inspect(value, { depth: 8, breakLength: Number.POSITIVE_INFINITY })}\n`,
  );
}

function withTimeout<T>(work: Promise<T>): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), OP_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

const connections: Array<[string, RedisConnectionOptions]> = [
  [
    'url-closed-port',
    { url: `redis://probe-user:${config.urlSecret}@127.0.0.1:${config.closedPort}`, connectTimeoutMs: 500 },
  ],
  ['url-wrong-password', { url: `redis://:${config.urlSecret}@${config.server}` }],
  ['acl-options', { url: `redis://${config.server}`, username: 'probe-user', password: config.optionSecret }],
  [
    'credentials-provider',
    {
      url: `redis://${config.server}`,
      credentials: async () => ({ username: 'probe-user', password: config.providerSecret }),
    },
  ],
];

const kinds: Array<[string, (connection: RedisConnectionOptions) => Transport]> = [
  ['streams', (connection) => new RedisStreamsTransport({ connection })],
  ['lists', (connection) => new RedisListsTransport({ connection })],
  ['pubsub', (connection) => new RedisPubSubTransport({ connection })],
];

for (const [kind, make] of kinds) {
  for (const [name, connection] of connections) {
    const label = `${kind}/${name}`;
    const transport = make({ ...connection, maxRetriesPerRequest: 0 });
    const broker = new Broker({ transport });
    try {
      const published = await withTimeout(
        broker.publish('probe', { hello: 'world' }).catch((error: unknown) => error),
      );
      print(`${label} publish`, published);
      // One line per refused publish saying what kind of error the caller got.
      if (published instanceof Error) {
        process.stdout.write(
          `probe-kind ${label} ${isRelaybusError(published) ? `relaybus ${published.code}` : `foreign ${published.name}`}\n`,
        );
      }
      const subscribed = await withTimeout(
        broker
          .subscribe('probe', () => undefined)
          .then(
            () => 'subscribed',
            (error: unknown) => error,
          ),
      );
      print(`${label} subscribe`, subscribed);
      print(`${label} health`, broker.health());
    } finally {
      await withTimeout(broker.stop().catch((error: unknown) => print(`${label} stop`, error)));
    }
  }
}
process.stdout.write('probe done\n');
process.exit(0);
