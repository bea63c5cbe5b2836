import { randomSubject, until } from '@relaybus/testing';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import {
  brokerUrl,
  DEADLINE_MS,
  proxy,
  receivedOn,
  start,
  storedPackets,
  storesOf,
  TEST_TIMEOUT_MS,
  theBroker,
  useMqttHarness,
} from './harness.js';
import { PacketType } from './proxy.js';

useMqttHarness();

describe('MQTT.js subscribers with Redis stores, killed and restarted; stores reused', {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  it('emits a QoS 2 message once when the subscriber is restarted between PUBREC and PUBREL', async () => {
    const clientId = randomSubject('sub');
    const topic = `${clientId}/t`;
    const link = await proxy({ direction: 'down', type: PacketType.pubrel });
    const first = start({ clientId, connectUrl: link.url, subscribe: { topic, qos: 2 } });
    const second = start({ clientId, connectUrl: brokerUrl(), waitForGo: true });
    await first.waitFor('subscribed');
    await new Promise<void>((resolve, reject) =>
      theBroker().publish(
        { cmd: 'publish', topic, payload: Buffer.from('once'), qos: 2, retain: false, dup: false },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    await until(() => link.held === 1, DEADLINE_MS, 'the PUBREL held by the proxy');
    const stores = storesOf(clientId);
    expect(await storedPackets(stores, 'incomingStore')).toEqual([
      expect.objectContaining({ cmd: 'publish', topic, qos: 2 }),
    ]);
    await first.kill();
    expect(first.lines.filter((line) => line.startsWith('message '))).toEqual([]);

    await second.go();
    await second.waitFor(`message ${topic} once`);
    const messageId = second.messageIdAfter('received pubrel ');
    await second.waitFor(`sent pubcomp ${messageId}`);
    await until(async () => (await stores.incomingStore.size()) === 0, DEADLINE_MS, 'an empty store');
    expect(second.lines.filter((line) => line.startsWith('message '))).toEqual([`message ${topic} once`]);
    await stores.incomingStore.closeAsync();
  });

  it('keeps working when MQTT.js reuses the same stores after end() and reconnect()', async () => {
    const clientId = randomSubject('reuse');
    const topic = `${clientId}/t`;
    // Stores that open (and on close, close) their own connection.
    const stores = storesOf(clientId);
    const client = mqtt.connect(brokerUrl(), {
      clientId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
      incomingStore: stores.incomingStore,
      outgoingStore: stores.outgoingStore,
    });
    try {
      await client.publishAsync(topic, 'before', { qos: 1 });
      await client.endAsync();
      client.reconnect();
      await until(() => client.connected, DEADLINE_MS, 'the client to reconnect');
      await client.publishAsync(topic, 'after', { qos: 2 });
      expect(receivedOn(topic)).toEqual(['before', 'after']);
      expect(await stores.outgoingStore.size()).toBe(0);
    } finally {
      await client.endAsync();
    }
  });
});
