/**
 * The two servers the differential tests of the lists / sorted-sets / pubsub families compare: a
 * real `redis-server` (through @relaybus/testing) and the embedded one (`startEmbeddedRedis` once
 * src/index.ts exports it, else the in-process stand-in of lists-harness.ts).
 */
import { describe } from 'vitest';
import { realRedisAvailability, realRedisSuite, startRedis } from '../../testing/dist/index.js';
import { FakeServer, type RawConnection, tcpConnection } from './lists-harness.js';

/** True when a real Redis (not the embedded server) is there to compare with. */
export const canCompare = realRedisAvailability().available;

/** `describe` when a real Redis is there to compare with, else skipped with the reason printed and in its title. */
export function describeVsReal(name: string, body: () => void): void {
  const suite = realRedisSuite(name, 'the reference replies the embedded server is compared with');
  describe.skipIf(suite.skip)(suite.title, body);
}

/** A server the tests can open raw connections to. */
export interface Target {
  readonly name: string;
  connect(): Promise<RawConnection>;
  stop(): Promise<void>;
}

/** A real redis-server. */
export async function realTarget(): Promise<Target> {
  const server = await startRedis({ server: 'real' });
  const port = Number(new URL(server.url).port);
  return {
    name: 'redis-server',
    connect: () => tcpConnection(port),
    stop: () => server.stop(),
  };
}

interface EmbeddedModule {
  startEmbeddedRedis?: (options?: { port?: number }) => Promise<{ port: number; close(): Promise<void> }>;
}

/** The embedded server, or the in-process stand-in until the server exists. */
export async function embeddedTarget(): Promise<Target> {
  const mod = (await import('../src/index.js')) as EmbeddedModule;
  // LISTS_TARGET=stand-in forces the in-process stand-in (to test the families alone).
  if (typeof mod.startEmbeddedRedis === 'function' && process.env.LISTS_TARGET !== 'stand-in') {
    const server = await mod.startEmbeddedRedis({ port: 0 });
    return {
      name: 'embedded',
      connect: () => tcpConnection(server.port),
      stop: () => server.close(),
    };
  }
  const fake = new FakeServer();
  return {
    name: 'stand-in',
    connect: async () => fake.connect(),
    stop: async () => undefined,
  };
}
