import type { Transport } from '@relaybus/core';
import { startEmbeddedRedis } from '@relaybus/embedded-redis';
import { MemoryTransport } from '@relaybus/memory';
import { RedisListsTransport } from '@relaybus/redis-lists';
import { RedisPubSubTransport } from '@relaybus/redis-pubsub';
import { RedisStreamsTransport } from '@relaybus/redis-streams';

/** The transports the demo runs on. */
export const DEMO_TRANSPORTS = ['memory', 'streams', 'lists', 'pubsub'] as const;
export type DemoTransport = (typeof DEMO_TRANSPORTS)[number];

/** A transport for the demo, where its Redis is, and how to let go of both. */
export interface DemoSetup {
  readonly transport: Transport;
  /** `in memory`, `on the embedded Redis server at …` or `on REDIS_URL …`. */
  readonly where: string;
  /** Stops the embedded server, if the demo started one (the transport is closed by the Broker). */
  close(): Promise<void>;
}

/**
 * Reads `--transport <name>` (or `--transport=<name>`) from `argv`; `memory` when absent.
 * Throws with the allowed names for anything else.
 */
export function transportFromArgs(argv: readonly string[]): DemoTransport {
  let value: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === '--transport') value = argv[i + 1];
    else if (arg.startsWith('--transport=')) value = arg.slice('--transport='.length);
  });
  if (value === undefined) return 'memory';
  if ((DEMO_TRANSPORTS as readonly string[]).includes(value)) return value as DemoTransport;
  throw new Error(`--transport must be one of ${DEMO_TRANSPORTS.join(', ')}; got ${JSON.stringify(value)}`);
}

/**
 * Builds the demo's transport. Redis transports use `REDIS_URL` when set, else an embedded
 * Redis-compatible server started in this process (nothing to install).
 */
export async function setUpTransport(
  name: DemoTransport,
  redisUrl = process.env.REDIS_URL,
): Promise<DemoSetup> {
  if (name === 'memory') {
    return { transport: new MemoryTransport(), where: 'in memory', close: async () => {} };
  }
  const embedded = redisUrl === undefined ? await startEmbeddedRedis() : undefined;
  const url = redisUrl ?? (embedded?.url as string);
  // A prefix of its own per run, so a shared REDIS_URL keeps earlier runs apart.
  const connection = { url, keyPrefix: `relaybus-demo:${Date.now().toString(36)}:` };
  const transport =
    name === 'streams'
      ? new RedisStreamsTransport({ connection })
      : name === 'lists'
        ? new RedisListsTransport({ connection })
        : new RedisPubSubTransport({ connection });
  const where =
    embedded === undefined
      ? `on REDIS_URL (${redact(url)})`
      : `on the embedded Redis server at ${embedded.host}:${embedded.port}`;
  return { transport, where, close: async () => embedded?.close() };
}

function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
