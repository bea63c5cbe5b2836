import { Broker, type RawDelivery, silentLogger } from '@relaybus/core';
import { hashSlot } from '@relaybus/redis';
import { RedisPubSubTransport } from '@relaybus/redis-pubsub';
import { RedisStreamsTransport } from '@relaybus/redis-streams';
import { type RedisCluster, randomSubject, startRedisCluster, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SteadyPublisher, summaryLine, tally } from '../../src/index.js';
import { pace, pick } from './fault-env.js';

const RATE_PER_SECOND = pick(150, 300);
const PHASE_MS = pick(2_000, 10_000);
const DOWN_MS = pick(1_000, 5_000);
const STOPPED = 0;

let cluster: RedisCluster;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await cluster?.stop();
});

/** A subject whose keys (and shard channel) live on node `index`. */
async function subjectOnNode(streams: RedisStreamsTransport, index: number, tag: string): Promise<string> {
  const ranges = (await streams.client().cluster('SLOTS')) as unknown as Array<
    [number, number, [string, number]]
  >;
  const node = cluster.nodes[index] as { host: string; port: number };
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const subject = randomSubject(tag);
    const slot = hashSlot(streams.connector.keys.stream(subject));
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
    if (owner?.[1] === node.port) return subject;
  }
  throw new Error(`found no subject on node ${index}`);
}

describe('Cluster: a primary stopped and restarted', () => {
  it('Streams deliver every publish that resolved and sharded Pub/Sub resubscribes and delivers again', async () => {
    const connection = { cluster: { nodes: cluster.urls } };
    const streams = new RedisStreamsTransport({
      connection,
      minIdleMs: 2_000,
      blockMs: 1_000,
      logger: silentLogger,
    });
    const publisher = new Broker({ transport: streams, logger: silentLogger });
    closers.push(() => publisher.stop());
    const consumer = new Broker({
      transport: new RedisStreamsTransport({
        connection,
        minIdleMs: 2_000,
        blockMs: 1_000,
        logger: silentLogger,
      }),
      logger: silentLogger,
    });
    closers.push(() => consumer.stop());
    // One subject on the node that goes down, one elsewhere.
    const subjects = [
      await subjectOnNode(streams, STOPPED, 'cluster-down'),
      await subjectOnNode(streams, 1, 'cluster-up'),
    ];
    const handled = new Map<string, number>();
    for (const subject of subjects) {
      await consumer.subscribe(
        subject,
        (_body, delivery) => {
          handled.set(delivery.id, (handled.get(delivery.id) ?? 0) + 1);
        },
        { concurrency: 4, retry: { maxDeliveries: 1_000, backoff: { kind: 'fixed', delayMs: 100 } } },
      );
    }
    const pubsub = new RedisPubSubTransport({ connection, mode: 'sharded', logger: silentLogger });
    closers.push(() => pubsub.close());
    const shardSubject = subjects[0] as string;
    const shard = await pubsub.subscribe(shardSubject);
    const shardIds = new Set<string>();
    void (async () => {
      for await (const delivery of shard as AsyncIterable<RawDelivery>) shardIds.add(delivery.id);
    })();

    const loads = subjects.map((subject) => new SteadyPublisher(publisher, subject, RATE_PER_SECOND / 2));
    for (const load of loads) load.start();
    await pace(PHASE_MS);
    await cluster.stopNode(STOPPED);
    await pace(DOWN_MS);
    const restartAt = Date.now();
    await cluster.startNode(STOPPED);
    const recoveryMs = Date.now() - restartAt;
    await pace(PHASE_MS);
    await Promise.all(loads.map((load) => load.stop()));
    const refused = loads.reduce((sum, load) => sum + load.failures.length, 0);
    const refusedSample = loads.flatMap((load) => load.failures).slice(0, 1);
    for (const load of loads) await load.retryFailures();
    expect(loads.flatMap((load) => load.failures)).toEqual([]);
    const acknowledged = loads.flatMap((load) => load.acknowledged);

    const settle = await until(
      () => tally(acknowledged, handled).lost === 0,
      30_000,
      'every acknowledged publish to be handled',
    ).catch((error: unknown) => error);
    const result = tally(acknowledged, handled);
    console.info(
      summaryLine('cluster-streams', result, {
        stoppedNode: STOPPED,
        downMs: DOWN_MS,
        recoveryMs,
        refusedPublishes: refused,
        refusedExample: JSON.stringify(
          refusedSample.map((failure) => (failure.error instanceof Error ? failure.error.message : '')),
        ),
      }),
    );
    expect(result.lost, `lost ids: ${result.lostIds.join(', ')}; ${String(settle ?? '')}`).toBe(0);

    // Sharded Pub/Sub has no storage: what was published while the node was down is gone by
    // design; everything published once it is back must arrive.
    const pubsubPublisher = pubsub.publisher();
    await until(
      async () =>
        ((await pubsubPublisher.publish(shardSubject, { payload: new Uint8Array([1]) })).receivers ?? 0) > 0,
      20_000,
      'the shard subscription is back on the restarted node',
    );
    const after: string[] = [];
    for (let i = 0; i < 100; i++) {
      after.push((await pubsubPublisher.publish(shardSubject, { payload: new Uint8Array([2, i]) })).id);
    }
    await until(() => after.every((id) => shardIds.has(id)), 10_000, 'every shard message after recovery');
    const shardResult = tally(after, new Map([...shardIds].map((id) => [id, 1])));
    console.info(summaryLine('cluster-sharded-pubsub', shardResult, { afterRecovery: after.length }));
    expect(shardResult.lost).toBe(0);
  }, 120_000);
});
