import { DecodeError } from '@relaybus/core';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../src/codec.js';
import { createRedisStores, RedisClientPersistence } from '../src/index.js';
import { checkClientId, namespaceUrl, storeKeys } from '../src/keys.js';

describe('packet encoding', () => {
  it('keeps a Buffer payload a Buffer and a string payload a string', () => {
    const binary = decodeValue(
      encodeValue({ cmd: 'publish', messageId: 7, topic: 't', payload: Buffer.from([0, 255, 1]), qos: 1 }),
    ) as { payload: unknown };
    expect(Buffer.isBuffer(binary.payload)).toBe(true);
    expect(binary.payload).toEqual(Buffer.from([0, 255, 1]));
    const text = decodeValue(encodeValue({ cmd: 'publish', payload: 'héllo' })) as { payload: unknown };
    expect(text.payload).toBe('héllo');
  });

  it('keeps MQTT 5 properties: user properties with repeated keys, correlation data, numbers', () => {
    const packet = {
      cmd: 'publish',
      messageId: 65_535,
      topic: 'a/b',
      payload: Buffer.alloc(0),
      qos: 2,
      dup: false,
      retain: true,
      properties: {
        payloadFormatIndicator: true,
        messageExpiryInterval: 3_600,
        responseTopic: 'reply/here',
        correlationData: Buffer.from('corr-1'),
        userProperties: { one: 'x', many: ['a', 'b'] },
        subscriptionIdentifier: [1, 2],
        contentType: 'application/json',
      },
    };
    const decoded = decodeValue(encodeValue(packet)) as typeof packet;
    expect(decoded).toEqual(packet);
    expect(Buffer.isBuffer(decoded.properties.correlationData)).toBe(true);
    expect(Buffer.isBuffer(decoded.payload)).toBe(true);
  });

  it('leaves out undefined fields instead of turning them into null', () => {
    const decoded = decodeValue(
      encodeValue({ cmd: 'pubrel', messageId: 3, properties: undefined }),
    ) as object;
    expect(decoded).toEqual({ cmd: 'pubrel', messageId: 3 });
    expect('properties' in decoded).toBe(false);
  });

  it('refuses bytes it did not write with a DecodeError', () => {
    expect(() => decodeValue(Buffer.from('{"cmd":"publish"}'))).toThrow(DecodeError);
    expect(() => decodeValue(Buffer.from([1, 0xc1]))).toThrow(DecodeError);
    expect(() => decodeValue(Buffer.alloc(0))).toThrow(DecodeError);
  });
});

describe('namespaces and keys', () => {
  it('puts every key of a client under one hash tag', () => {
    const keys = storeKeys('relaybus:', 'dev-1', 'mqtt://broker:1883', 'out');
    expect(keys).toEqual({
      entries: 'relaybus:mqtt:{dev-1@mqtt://broker:1883}:out',
      order: 'relaybus:mqtt:{dev-1@mqtt://broker:1883}:out:order',
      counter: 'relaybus:mqtt:{dev-1@mqtt://broker:1883}:out:seq',
    });
  });

  it('drops a user name and password from the broker URL', () => {
    expect(namespaceUrl('mqtts://alice:s3cret@broker.example:8883')).toBe('mqtts://broker.example:8883');
    expect(namespaceUrl('mqtt://broker:1883')).toBe('mqtt://broker:1883');
    expect(namespaceUrl('plant-7-broker')).toBe('plant-7-broker');
  });

  it('refuses client ids that would break the hash tag or are empty', () => {
    expect(() => checkClientId('a}b')).toThrow(/clientId/);
    expect(() => checkClientId('a b')).toThrow(/clientId/);
    expect(() => checkClientId('')).toThrow(/clientId/);
  });
});

describe('createRedisStores options', () => {
  const base = { redis: { url: 'redis://127.0.0.1:6379' }, clientId: 'c', brokerUrl: 'mqtt://b' };

  it('names the option that is wrong', () => {
    expect(() => createRedisStores({ ...base, clean: 'yes' as unknown as boolean })).toThrow(/"clean"/);
    expect(() => createRedisStores({ ...base, prefix: 'a b' })).toThrow(/keyPrefix/);
    expect(() => createRedisStores({ ...base, brokerUrl: '{x}' })).toThrow(/"brokerUrl"/);
    expect(() => createRedisStores({ ...base, redis: { url: 'http://x' } })).toThrow(/"redis\.url"|"redis"/);
    expect(() => createRedisStores({ ...base, extra: 1 } as unknown as typeof base)).toThrow(/extra/);
    expect(() => createRedisStores({ clientId: 'c', brokerUrl: 'b' } as unknown as typeof base)).toThrow(
      /"redis"/,
    );
  });

  it('uses the connection key prefix unless a prefix is given', () => {
    const own = createRedisStores({ ...base, redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'app:' } });
    expect(own.outgoingStore.keys.entries).toBe('app:mqtt:{c@mqtt://b}:out');
    const given = createRedisStores({ ...base, prefix: 'x:' });
    expect(given.incomingStore.keys.entries).toBe('x:mqtt:{c@mqtt://b}:in');
  });

  it('rejects Paho calls before open', async () => {
    const persistence = new RedisClientPersistence({ redis: { url: 'redis://127.0.0.1:6379' } });
    await expect(persistence.keys()).rejects.toThrow(/open/);
  });
});
