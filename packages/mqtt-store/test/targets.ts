import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RedisConnectionOptions } from '@relaybus/redis';
import { redisAvailability, startRedis, startRedisCluster } from '@relaybus/testing';
import { Redis } from 'iovalkey';

/** A running server the store tests connect to. */
export interface RunningTarget {
  readonly connection: RedisConnectionOptions;
  stop(): Promise<void>;
}

/** One kind of server the store tests run against. */
export interface StoreTarget {
  readonly name: string;
  readonly cluster: boolean;
  /** Why the target cannot run here (printed, and its tests skipped), or undefined. */
  readonly skip: string | undefined;
  start(): Promise<RunningTarget>;
}

const EMBEDDED_DIST = new URL('../../embedded-redis/dist/index.js', import.meta.url);

interface EmbeddedServer {
  url?: string;
  port?: number;
  host?: string;
  stop?: () => Promise<void>;
  close?: () => Promise<void>;
}

type StartEmbedded = (options?: object) => Promise<EmbeddedServer>;

/** `startEmbeddedRedis` from the built embedded-redis package, or why it cannot be used. */
async function loadEmbedded(): Promise<StartEmbedded | string> {
  if (!existsSync(fileURLToPath(EMBEDDED_DIST))) return 'packages/embedded-redis is not built';
  try {
    const module = (await import(EMBEDDED_DIST.href)) as { startEmbeddedRedis?: unknown };
    if (typeof module.startEmbeddedRedis !== 'function') {
      return 'packages/embedded-redis/dist/index.js does not export startEmbeddedRedis yet';
    }
    return module.startEmbeddedRedis as StartEmbedded;
  } catch (error) {
    return `packages/embedded-redis/dist/index.js failed to load: ${(error as Error).message}`;
  }
}

/** Every command the stores send, directly or from their Lua scripts, with harmless arguments. */
const COMMANDS_USED: ReadonlyArray<readonly [string, ...string[]]> = [
  ['HSET', 'probe:h', 'f', 'v'],
  ['HGET', 'probe:h', 'f'],
  ['HEXISTS', 'probe:h', 'f'],
  ['HLEN', 'probe:h'],
  ['HDEL', 'probe:h', 'f'],
  ['ZADD', 'probe:z', '1', 'm'],
  ['ZRANGEBYSCORE', 'probe:z', '(0', '1', 'WITHSCORES', 'LIMIT', '0', '10'],
  ['ZRANGE', 'probe:z', '0', '-1'],
  ['ZREM', 'probe:z', 'm'],
  ['INCR', 'probe:n'],
  ['GET', 'probe:n'],
  ['EXISTS', 'probe:n'],
  ['DEL', 'probe:n'],
  ['EVAL', "return redis.call('HSET', KEYS[1], 'f', 'v')", '1', 'probe:s'],
];

/**
 * Why the store cannot run on the server at `url` for a reason outside this package (commands it
 * does not have), or undefined when it has them all.
 */
async function missingCommands(url: string): Promise<string | undefined> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const missing: string[] = [];
    for (const [command, ...args] of COMMANDS_USED) {
      try {
        await client.call(command, ...args);
      } catch (error) {
        if (/unknown/i.test((error as Error).message))
          missing.push(command === 'EVAL' ? 'HSET in Lua' : command);
      }
    }
    return missing.length === 0 ? undefined : `the embedded server lacks ${missing.join(', ')}`;
  } finally {
    client.disconnect();
  }
}

function embeddedUrl(server: EmbeddedServer): string {
  if (typeof server.url === 'string') return server.url;
  return `redis://${server.host ?? '127.0.0.1'}:${server.port}`;
}

/** Standalone Redis, a 3-node Redis Cluster and, once it is built, the embedded server. */
export async function storeTargets(): Promise<StoreTarget[]> {
  const standalone = await redisAvailability();
  const cluster = await redisAvailability({ cluster: true });
  let embedded = await loadEmbedded();
  if (typeof embedded !== 'string') {
    try {
      const probe = await embedded();
      try {
        embedded = (await missingCommands(embeddedUrl(probe))) ?? embedded;
      } finally {
        await (probe.stop ?? probe.close)?.call(probe);
      }
    } catch (error) {
      embedded = `the embedded server failed to start: ${(error as Error).message}`;
    }
  }
  const targets: StoreTarget[] = [
    {
      name: 'standalone Redis',
      cluster: false,
      skip: standalone.available ? undefined : standalone.reason,
      async start() {
        const server = await startRedis();
        return { connection: { url: server.url }, stop: () => server.stop() };
      },
    },
    {
      name: '3-node Redis Cluster',
      cluster: true,
      skip: cluster.available ? undefined : cluster.reason,
      async start() {
        const nodes = await startRedisCluster();
        return {
          connection: { cluster: { nodes: nodes.nodes.map(({ host, port }) => `${host}:${port}`) } },
          stop: () => nodes.stop(),
        };
      },
    },
    {
      name: 'embedded server',
      cluster: false,
      skip: typeof embedded === 'string' ? embedded : undefined,
      async start() {
        const server = await (embedded as StartEmbedded)();
        return {
          connection: { url: embeddedUrl(server) },
          stop: async () => {
            await (server.stop ?? server.close)?.call(server);
          },
        };
      },
    },
  ];
  for (const target of targets) {
    if (target.skip !== undefined)
      console.log(`mqtt-store: skipping the ${target.name} tests: ${target.skip}`);
  }
  return targets;
}
