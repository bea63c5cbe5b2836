import { randomSubject, until } from '@relaybus/testing';
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
  useMqttHarness,
} from './harness.js';
import { PacketType } from './proxy.js';

useMqttHarness();

describe('MQTT.js publishers with Redis stores, killed with SIGKILL and restarted', {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  it('resends a QoS 1 message after the publisher is killed before its PUBACK', async () => {
    const clientId = randomSubject('q1');
    const topic = `${clientId}/t`;
    const link = await proxy({ direction: 'up', type: PacketType.publish });
    const first = start({ clientId, connectUrl: link.url, publish: [{ topic, payload: 'hello', qos: 1 }] });
    const second = start({ clientId, connectUrl: brokerUrl(), waitForGo: true });
    await first.waitFor('stored 0');
    await until(() => link.held === 1, DEADLINE_MS, 'the PUBLISH held by the proxy');
    await first.kill();
    const stores = storesOf(clientId);
    expect(receivedOn(topic)).toEqual([]);
    expect((await storedPackets(stores, 'outgoingStore')).map((p) => p.cmd)).toEqual(['publish']);

    await second.go();
    await until(() => receivedOn(topic).length === 1, DEADLINE_MS, 'the broker to receive the message');
    expect(receivedOn(topic)).toEqual(['hello']);
    await until(async () => (await stores.outgoingStore.size()) === 0, DEADLINE_MS, 'an empty store');
    expect(second.lines.some((line) => line.startsWith('received puback '))).toBe(true);
    await stores.outgoingStore.closeAsync();
  });

  it('resends the PUBREL of a QoS 2 message after the publisher is killed after PUBREC', async () => {
    const clientId = randomSubject('q2');
    const topic = `${clientId}/t`;
    const link = await proxy({ direction: 'up', type: PacketType.pubrel });
    const first = start({ clientId, connectUrl: link.url, publish: [{ topic, payload: 'exactly', qos: 2 }] });
    const second = start({ clientId, connectUrl: brokerUrl(), waitForGo: true });
    await until(() => link.held === 1, DEADLINE_MS, 'the PUBREL held by the proxy');
    const messageId = first.messageIdAfter('received pubrec ');
    await first.kill();
    const stores = storesOf(clientId);
    expect(receivedOn(topic)).toEqual(['exactly']);
    // The PUBREL replaced its PUBLISH: one packet, a pubrel.
    expect(await storedPackets(stores, 'outgoingStore')).toEqual([
      expect.objectContaining({ cmd: 'pubrel', messageId }),
    ]);

    await second.go();
    await second.waitFor(`received pubcomp ${messageId}`);
    expect(second.lines).toContain(`sent pubrel ${messageId}`);
    expect(second.lines.some((line) => line.startsWith('sent publish'))).toBe(false);
    await until(async () => (await stores.outgoingStore.size()) === 0, DEADLINE_MS, 'an empty store');
    expect(receivedOn(topic)).toEqual(['exactly']);
    await stores.outgoingStore.closeAsync();
  });
});
