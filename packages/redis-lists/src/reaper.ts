import type { Logger } from '@relaybus/core';
import { type RedisClient, runScript } from '@relaybus/redis';
import type { ListKeys } from './keys.js';
import { SCRIPTS } from './scripts.js';

/**
 * Returns the processing list of `consumer` to the queue (each entry's delivery count + 1), if its
 * heartbeat has expired, or unconditionally with `force`. Resolves with how many entries went
 * back, or -1 when the consumer is alive.
 */
export async function reapConsumer(
  client: RedisClient,
  keys: ListKeys,
  consumer: string,
  force = false,
): Promise<number> {
  const reply = await runScript(
    client,
    SCRIPTS.reap,
    [keys.heartbeat(consumer), keys.processing(consumer), keys.queue, keys.consumers],
    [consumer, force ? 'force' : 'check'],
  );
  return Number(reply);
}

/**
 * One reaper pass over a queue: if this consumer gets the reaper lock (SET NX PX, so at most one
 * consumer of the queue reaps per `lockMs`), every registered consumer whose heartbeat expired has
 * its processing list returned to the queue, in order, atomically per consumer (Lua), and dead
 * consumers with nothing left are eventually dropped from the registry. Resolves with the number of
 * entries returned (0 when another consumer holds the lock).
 */
export async function reapQueue(
  client: RedisClient,
  keys: ListKeys,
  owner: string,
  lockMs: number,
  logger: Logger,
): Promise<number> {
  const locked = await client.set(keys.reaperLock, owner, 'PX', lockMs, 'NX');
  if (locked !== 'OK') return 0;
  const consumers = await client.zrange(keys.consumers, 0, -1);
  const results = await Promise.all(consumers.map((consumer) => reapConsumer(client, keys, consumer)));
  let returned = 0;
  results.forEach((count, index) => {
    if (count > 0) {
      returned += count;
      logger.warn(
        { consumer: consumers[index], returned: count, queue: keys.queue },
        'returned the unsettled messages of a consumer whose heartbeat expired to the queue',
      );
    }
  });
  return returned;
}
