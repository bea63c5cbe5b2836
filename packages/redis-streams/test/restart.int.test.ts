import { type RawDelivery, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';

let server: RedisServer;
let transport: RedisStreamsTransport | undefined;

beforeAll(async () => {
  server = await startRedis({ persistence: true });
});

afterAll(async () => {
  await transport?.close();
  await server?.stop();
});

describe('Redis restart', () => {
  it('resumes the subscription and delivers every acknowledged publish after a restart mid-stream', async () => {
    transport = new RedisStreamsTransport({
      connection: { url: server.url },
      minIdleMs: 500,
      blockMs: 1_000,
      logger: silentLogger,
    });
    const t = transport;
    const subject = randomSubject('restart');
    const subscription = await t.subscribe(subject, { group: 'g' });
    const received = new Set<string>();
    let ackFailures = 0;
    void (async () => {
      for await (const delivery of subscription as AsyncIterable<RawDelivery>) {
        received.add(delivery.id);
        // An ack lost in the restart is fine: the entry stays pending and comes back.
        await delivery.ack().catch(() => ackFailures++);
      }
    })();

    const acknowledged: string[] = [];
    let publishFailures = 0;
    let stop = false;
    const publishing = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const { id } = await t
            .publisher()
            .publish(subject, { payload: new TextEncoder().encode(`m ${i}`) });
          acknowledged.push(id);
        } catch {
          publishFailures++;
        }
      }
    })();
    await until(() => received.size >= 50, 10_000, 'messages flow before the restart');
    await server.restart({ kill: true });
    const atRestart = acknowledged.length;
    await until(() => acknowledged.length >= atRestart + 50, 20_000, 'publishing resumes after the restart');
    stop = true;
    await publishing;
    await until(
      () => acknowledged.every((id) => received.has(id)),
      20_000,
      'every acknowledged publish is delivered',
    );
    expect(acknowledged.length).toBeGreaterThan(100);
    // Reported for the record; neither is a failure of the guarantee.
    console.info(
      `restart: ${acknowledged.length} acknowledged, ${publishFailures} publish and ${ackFailures} ack failures`,
    );
    await subscription.close();
  });
});
