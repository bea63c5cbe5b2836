import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStores, type RedisStores } from '../src/index.js';
import { MqttProxy, PacketType } from './proxy.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/mqtt-client.mjs', import.meta.url));
/** The namespace every client of these tests uses: the broker as the stores name it. */
const NAMESPACE = 'mqtt://broker.test:1883';
const DEADLINE_MS = 15_000;

interface ClientConfig {
  clientId: string;
  connectUrl: string;
  publish?: Array<{ topic: string; payload: string; qos: 1 | 2 }>;
  subscribe?: { topic: string; qos: 2 };
  firstMessageId?: number;
}

/** An MQTT.js client (test/fixtures/mqtt-client.mjs) in a child process, and what it printed. */
class ClientProcess {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  #exited = false;

  constructor(config: ClientConfig, redisUrl: string) {
    this.#child = spawn(
      process.execPath,
      [FIXTURE, JSON.stringify({ ...config, redisUrl, namespace: NAMESPACE })],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let partial = '';
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    let errors = '';
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      errors += chunk;
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = true;
      if (signal !== 'SIGKILL') this.lines.push(`exited ${code} ${signal} ${errors.trim()}`);
    });
  }

  /** Resolves once the client printed `line` (rejects after the deadline with what it printed). */
  async waitFor(line: string): Promise<void> {
    await until(() => this.lines.includes(line), DEADLINE_MS, `"${line}" in ${JSON.stringify(this.lines)}`);
  }

  /** The messageId in the first line starting with `prefix` (e.g. `received pubrec `). */
  messageIdAfter(prefix: string): number {
    const line = this.lines.find((text) => text.startsWith(prefix));
    if (line === undefined) throw new Error(`no "${prefix}" line in ${JSON.stringify(this.lines)}`);
    return Number(line.slice(prefix.length));
  }

  /** SIGKILL: a crash, with no chance to flush or close anything. Resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGKILL');
    await exited;
  }
}

let redis: RedisServer;
let broker: Aedes;
let brokerServer: Server;
let brokerUrl: string;
/** Every PUBLISH the broker accepted from a client: topic and payload, in order. */
const published: Array<{ topic: string; payload: string }> = [];
const children: ClientProcess[] = [];
const proxies: MqttProxy[] = [];

beforeAll(async () => {
  redis = await startRedis();
  broker = await Aedes.createBroker();
  broker.on('publish', (packet, client) => {
    if (client) published.push({ topic: packet.topic, payload: packet.payload.toString() });
  });
  brokerServer = createServer(broker.handle);
  await new Promise<void>((resolve) => brokerServer.listen(0, '127.0.0.1', resolve));
  const address = brokerServer.address();
  if (address === null || typeof address === 'string') throw new Error('broker is not listening');
  brokerUrl = `mqtt://127.0.0.1:${address.port}`;
});

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

afterAll(async () => {
  await new Promise<void>((resolve) => broker?.close(() => resolve()));
  await new Promise<void>((resolve) => brokerServer?.close(() => resolve()));
  await redis?.stop();
});

function start(config: ClientConfig): ClientProcess {
  const child = new ClientProcess(config, redis.url);
  children.push(child);
  return child;
}

async function proxy(rule: Parameters<MqttProxy['holdFrom']>[0]): Promise<MqttProxy> {
  const started = await MqttProxy.start(Number(new URL(brokerUrl).port));
  started.holdFrom(rule);
  proxies.push(started);
  return started;
}

/** The stores a client with `clientId` has in Redis, for looking at them from the test. */
function storesOf(clientId: string): RedisStores {
  return createRedisStores({
    redis: { url: redis.url },
    clientId,
    brokerUrl: NAMESPACE,
    logger: silentLogger,
  });
}

async function storedPackets(
  stores: RedisStores,
  which: 'outgoingStore' | 'incomingStore',
): Promise<Packet[]> {
  const stream = stores[which].createStream();
  const packets: Packet[] = [];
  for await (const packet of stream) packets.push(packet as Packet);
  return packets;
}

function receivedOn(topic: string): string[] {
  return published.filter((entry) => entry.topic === topic).map((entry) => entry.payload);
}

describe('MQTT.js with Redis stores, crashing for real', () => {
  it('resends a QoS 1 message after the publisher is killed before its PUBACK', async () => {
    const clientId = randomSubject('q1');
    const topic = `${clientId}/t`;
    const link = await proxy({ direction: 'up', type: PacketType.publish });
    const first = start({ clientId, connectUrl: link.url, publish: [{ topic, payload: 'hello', qos: 1 }] });
    await first.waitFor('stored 0');
    await until(() => link.held === 1, DEADLINE_MS, 'the PUBLISH held by the proxy');
    await first.kill();
    const stores = storesOf(clientId);
    expect(receivedOn(topic)).toEqual([]);
    expect((await storedPackets(stores, 'outgoingStore')).map((p) => p.cmd)).toEqual(['publish']);

    const second = start({ clientId, connectUrl: brokerUrl });
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
    await until(() => link.held === 1, DEADLINE_MS, 'the PUBREL held by the proxy');
    const messageId = first.messageIdAfter('received pubrec ');
    await first.kill();
    const stores = storesOf(clientId);
    expect(receivedOn(topic)).toEqual(['exactly']);
    // The PUBREL replaced its PUBLISH: one packet, a pubrel.
    expect(await storedPackets(stores, 'outgoingStore')).toEqual([
      expect.objectContaining({ cmd: 'pubrel', messageId }),
    ]);

    const second = start({ clientId, connectUrl: brokerUrl });
    await second.waitFor(`received pubcomp ${messageId}`);
    expect(second.lines).toContain(`sent pubrel ${messageId}`);
    expect(second.lines.some((line) => line.startsWith('sent publish'))).toBe(false);
    await until(async () => (await stores.outgoingStore.size()) === 0, DEADLINE_MS, 'an empty store');
    expect(receivedOn(topic)).toEqual(['exactly']);
    await stores.outgoingStore.closeAsync();
  });

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
    await first.waitFor('stored 2');
    await until(() => link.held === 1, DEADLINE_MS, 'the first PUBLISH held by the proxy');
    await first.kill();
    const stores = storesOf(clientId);
    expect((await storedPackets(stores, 'outgoingStore')).map((p) => p.messageId)).toEqual([
      65_534, 65_535, 1,
    ]);

    start({ clientId, connectUrl: brokerUrl });
    await until(() => receivedOn(topic).length === 3, DEADLINE_MS, 'three messages at the broker');
    expect(receivedOn(topic)).toEqual(['one', 'two', 'three']);
    await until(async () => (await stores.outgoingStore.size()) === 0, DEADLINE_MS, 'an empty store');
    await stores.outgoingStore.closeAsync();
  });

  it('emits a QoS 2 message once when the subscriber is restarted between PUBREC and PUBREL', async () => {
    const clientId = randomSubject('sub');
    const topic = `${clientId}/t`;
    const link = await proxy({ direction: 'down', type: PacketType.pubrel });
    const first = start({ clientId, connectUrl: link.url, subscribe: { topic, qos: 2 } });
    await first.waitFor('subscribed');
    await new Promise<void>((resolve, reject) =>
      broker.publish(
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

    const second = start({ clientId, connectUrl: brokerUrl });
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
    const client = mqtt.connect(brokerUrl, {
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
