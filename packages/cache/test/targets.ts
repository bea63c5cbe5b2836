import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RedisConnectionOptions } from '@relaybus/redis';
import { startRedis, startRedisCluster } from '@relaybus/testing';
import { Cluster, Redis } from 'iovalkey';

/** A running Redis the cache tests use. */
export interface RunningTarget {
  /** Connection options for `createCache`. */
  readonly redis: RedisConnectionOptions;
  /** A plain iovalkey client to the same Redis, for looking behind the cache. */
  readonly raw: Redis | Cluster;
  /** On a Cluster: `host:port` of every primary. */
  readonly primaries: readonly string[];
  stop(): Promise<void>;
}

/** One kind of Redis the suites run against. */
export interface Target {
  readonly name: string;
  readonly cluster: boolean;
  /** Why this target cannot run here, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  start(): Promise<RunningTarget>;
}

/** A local redis-server. */
export const STANDALONE_TARGET: Target = {
  name: 'standalone redis-server',
  cluster: false,
  unavailable: async () => undefined,
  async start() {
    const server = await startRedis();
    const raw = new Redis(server.url);
    return {
      redis: { url: server.url },
      raw,
      primaries: [],
      async stop() {
        raw.disconnect();
        await server.stop();
      },
    };
  },
};

/** A local 3-primary redis-server Cluster. */
export const CLUSTER_TARGET: Target = {
  name: 'redis-server Cluster',
  cluster: true,
  unavailable: async () => undefined,
  async start() {
    const started = await startRedisCluster();
    const raw = new Cluster(started.nodes.map((node) => ({ ...node })));
    return {
      redis: { cluster: { nodes: started.urls } },
      raw,
      primaries: started.nodes.map((node) => `${node.host}:${node.port}`),
      async stop() {
        raw.disconnect();
        await started.stop();
      },
    };
  },
};

const EMBEDDED_DIST = fileURLToPath(new URL('../../embedded-redis/dist/index.js', import.meta.url));

interface EmbeddedServer {
  readonly url?: string;
  readonly port?: number;
  readonly host?: string;
  stop?: () => Promise<void>;
  close?: () => Promise<void>;
}

/**
 * Starts the embedded server once and tries the commands the cache needs; the reason it cannot
 * serve the cache (a missing command, a start failure), or undefined when it can.
 */
async function probeEmbedded(): Promise<string | undefined> {
  let running: RunningTarget | undefined;
  let subscriber: Redis | undefined;
  try {
    running = await EMBEDDED.start();
    const raw = running.raw as Redis;
    subscriber = new Redis((running.redis as { url: string }).url);
    await subscriber.subscribe('probe-channel');
    const heard = new Promise<string>((resolve) =>
      subscriber?.once('message', (_c, m: string) => resolve(m)),
    );
    await raw.set('probe', '1', 'PX', 60_000);
    await raw.get('probe');
    await raw.pttl('probe');
    await raw.mget('probe', 'probe2');
    await raw.eval(
      "redis.call('SET', KEYS[1], ARGV[1]) return redis.call(ARGV[2], ARGV[3], 'v')",
      1,
      'probe',
      '2',
      'publish',
      'probe-channel',
    );
    const message = await Promise.race([heard, new Promise((resolve) => setTimeout(resolve, 2_000, 'none'))]);
    if (message !== 'v') return 'a PUBLISH from a Lua script did not reach a SUBSCRIBE client';
    return undefined;
  } catch (error) {
    return `it cannot serve the cache yet: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    subscriber?.disconnect();
    await running?.stop().catch(() => undefined);
  }
}

/** The embedded server of `@relaybus/embedded-redis`, when it is built and starts. */
const EMBEDDED: Target = {
  name: 'embedded server',
  cluster: false,
  async unavailable() {
    if (!existsSync(EMBEDDED_DIST)) return `${EMBEDDED_DIST} is not built`;
    const module = (await import(pathToFileURL(EMBEDDED_DIST).href)) as { startEmbeddedRedis?: unknown };
    if (typeof module.startEmbeddedRedis !== 'function') return 'it exports no startEmbeddedRedis';
    return probeEmbedded();
  },
  async start() {
    const module = (await import(pathToFileURL(EMBEDDED_DIST).href)) as {
      startEmbeddedRedis: (options?: object) => Promise<EmbeddedServer>;
    };
    const server = await module.startEmbeddedRedis();
    const url = server.url ?? `redis://${server.host ?? '127.0.0.1'}:${server.port}`;
    const raw = new Redis(url);
    return {
      redis: { url },
      raw,
      primaries: [],
      async stop() {
        raw.disconnect();
        await (server.stop ?? server.close)?.call(server);
      },
    };
  },
};

/** The embedded server target alone (its `unavailable()` probes it). */
export const EMBEDDED_TARGET: Target = EMBEDDED;

/** `@relaybus/embedded-redis`'s dist module, for tests that use more of it (its clock). */
export async function importEmbedded(): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(EMBEDDED_DIST).href)) as Record<string, unknown>;
}

interface EmbeddedClusterModule {
  startEmbeddedRedisCluster?: (options?: object) => Promise<{
    readonly nodes: ReadonlyArray<{ host: string; port: number }>;
    readonly urls: string[];
    close(): Promise<void>;
  }>;
}

/** The embedded server's Cluster mode, when `@relaybus/embedded-redis` is built with it. */
const EMBEDDED_CLUSTER: Target = {
  name: 'embedded Cluster',
  cluster: true,
  async unavailable() {
    if (!existsSync(EMBEDDED_DIST)) return `${EMBEDDED_DIST} is not built`;
    const module = (await import(pathToFileURL(EMBEDDED_DIST).href)) as EmbeddedClusterModule;
    if (typeof module.startEmbeddedRedisCluster !== 'function') {
      return 'it exports no startEmbeddedRedisCluster (yet)';
    }
    let running: RunningTarget | undefined;
    try {
      running = await EMBEDDED_CLUSTER.start();
      const raw = running.raw as Cluster;
      await raw.set('probe', '1', 'PX', 60_000);
      await raw.get('probe');
      await raw.eval("return redis.call(ARGV[1], KEYS[1] .. ':c', 'v')", 1, 'probe', 'spublish');
      return undefined;
    } catch (error) {
      return `it cannot serve the cache yet: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      await running?.stop().catch(() => undefined);
    }
  },
  async start() {
    const module = (await import(pathToFileURL(EMBEDDED_DIST).href)) as Required<EmbeddedClusterModule>;
    const started = await module.startEmbeddedRedisCluster();
    const raw = new Cluster(started.nodes.map((node) => ({ host: node.host, port: node.port })));
    return {
      redis: { cluster: { nodes: started.urls } },
      raw,
      primaries: started.nodes.map((node) => `${node.host}:${node.port}`),
      async stop() {
        raw.disconnect();
        await started.close();
      },
    };
  },
};

/** The embedded Cluster target. */
export const EMBEDDED_CLUSTER_TARGET: Target = EMBEDDED_CLUSTER;
