import { silentLogger } from '@relaybus/core';
import { randomSubject } from '@relaybus/testing';
import { describe, expect, it } from 'vitest';
import { createCache } from '../src/index.js';
import { EMBEDDED_TARGET, importEmbedded } from './targets.js';

const reason = await EMBEDDED_TARGET.unavailable();
if (reason !== undefined) console.log(`relaybus cache: skipping the embedded clock test: ${reason}`);

interface ManualClock {
  advance(ms: number): void;
}
interface Embedded {
  readonly url: string;
  close(): Promise<void>;
}

describe.skipIf(reason !== undefined)('TTL on the embedded server with a manual clock', () => {
  it('expires an hour-long value when the clock moves an hour, without waiting for it', async () => {
    const module = await importEmbedded();
    const ManualClockClass = module.ManualClock as new () => ManualClock;
    const start = module.startEmbeddedRedis as (options: object) => Promise<Embedded>;
    const clock = new ManualClockClass();
    const server = await start({ clock });
    const cache = createCache<string>({
      redis: { url: server.url },
      name: randomSubject('clock'),
      logger: silentLogger,
    });
    try {
      await cache.set('report', 'hourly', { ttlMs: 3_600_000 });
      expect(await cache.ttl('report')).toBe(3_600_000);
      clock.advance(3_599_000);
      expect(await cache.ttl('report')).toBe(1_000);
      expect(await cache.get('report')).toBe('hourly');
      clock.advance(1_000);
      expect(await cache.get('report')).toBeUndefined();
      expect(await cache.ttl('report')).toBeUndefined();
    } finally {
      await cache.close();
      await server.close();
    }
  });
});
