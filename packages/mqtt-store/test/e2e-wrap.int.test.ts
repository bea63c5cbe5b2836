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

describe('an MQTT.js publisher with Redis stores across a messageId wrap', {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  it('resends three in-flight messages across a messageId wrap in publish order', async () => {
    const clientId = randomSubject('wrap');
    const topic = `${clientId}/t`;
    const link = await proxy({ direction: 'up', type: PacketType.publish });
    const first = start({
      clientId,
      connectUrl: link.url,
      firstMessageId: 65_534,
      publish: ['one', 'two', 'three'].map((payload) => ({ topic, payload, qos: 1 as const })),
    });
    const second = start({ clientId, connectUrl: brokerUrl(), waitForGo: true });
    await first.waitFor('stored 2');
    await until(() => link.held === 1, DEADLINE_MS, 'the first PUBLISH held by the proxy');
    await first.kill();
    const stores = storesOf(clientId);
    expect((await storedPackets(stores, 'outgoingStore')).map((p) => p.messageId)).toEqual([
      65_534, 65_535, 1,
    ]);

    await second.go();
    await until(() => receivedOn(topic).length === 3, DEADLINE_MS, 'three messages at the broker');
    expect(receivedOn(topic)).toEqual(['one', 'two', 'three']);
    await until(async () => (await stores.outgoingStore.size()) === 0, DEADLINE_MS, 'an empty store');
    await stores.outgoingStore.closeAsync();
  });
});
