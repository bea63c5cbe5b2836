// The end-to-end harness: a real Redis, an in-process aedes broker on loopback, MQTT.js clients in
// child processes (fixtures/mqtt-client.mjs, which imports the built package) and a proxy that
// stops a connection at an exact packet.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@relaybus/core';
import { type RedisServer, startRedis, until } from '@relaybus/testing';
import { Aedes } from 'aedes';
import type { Packet } from 'mqtt-packet';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createRedisStores, type RedisStores } from '../src/index.js';
import { type HoldRule, MqttProxy } from './proxy.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/mqtt-client.mjs', import.meta.url));
/** The namespace every client of these tests uses: the broker as the stores name it. */
const NAMESPACE = 'mqtt://broker.test:1883';
/** How long a step of a crash test may take: child processes start slowly on a busy machine. */
export const DEADLINE_MS = 30_000;
/** Timeout of one crash test (several steps, two child processes). */
export const TEST_TIMEOUT_MS = 120_000;

export interface ClientConfig {
  clientId: string;
  connectUrl: string;
  publish?: Array<{ topic: string; payload: string; qos: 1 | 2 }>;
  subscribe?: { topic: string; qos: 2 };
  firstMessageId?: number;
  /** Load modules, then wait for `go()` before making stores and connecting. */
  waitForGo?: boolean;
}

/** An MQTT.js client (test/fixtures/mqtt-client.mjs) in a child process, and what it printed. */
export class ClientProcess {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  #exited = false;

  constructor(config: ClientConfig, redisUrl: string) {
    this.#child = spawn(
      process.execPath,
      [FIXTURE, JSON.stringify({ ...config, redisUrl, namespace: NAMESPACE })],
      { stdio: ['pipe', 'pipe', 'pipe'] },
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

  /** Lets a client started with `waitForGo` make its stores and connect. */
  async go(): Promise<void> {
    await this.waitFor('loaded');
    this.#child.stdin!.write('go\n');
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
let brokerAddress: string;
/** Every PUBLISH the broker accepted from a client: topic and payload, in order. */
const published: Array<{ topic: string; payload: string }> = [];
const children: ClientProcess[] = [];
const proxies: MqttProxy[] = [];

/**
 * Registers this file's hooks: a Redis server and an aedes broker on loopback for the whole file;
 * children and proxies of a test are killed and closed after it.
 */
export function useMqttHarness(): void {
  beforeAll(startAll);
  afterEach(cleanUp);
  afterAll(stopAll);
}

/** The broker's `mqtt://127.0.0.1:<port>`. */
export function brokerUrl(): string {
  return brokerAddress;
}

/** The in-process aedes broker. */
export function theBroker(): Aedes {
  return broker;
}

async function startAll(): Promise<void> {
  redis = await startRedis();
  broker = await Aedes.createBroker();
  broker.on('publish', (packet, client) => {
    if (client) published.push({ topic: packet.topic, payload: packet.payload.toString() });
  });
  brokerServer = createServer(broker.handle);
  await new Promise<void>((resolve) => brokerServer.listen(0, '127.0.0.1', resolve));
  const address = brokerServer.address();
  if (address === null || typeof address === 'string') throw new Error('broker is not listening');
  brokerAddress = `mqtt://127.0.0.1:${address.port}`;
}

async function cleanUp(): Promise<void> {
  await Promise.all(children.splice(0).map((child) => child.kill()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
}

async function stopAll(): Promise<void> {
  await new Promise<void>((resolve) => broker?.close(() => resolve()));
  await new Promise<void>((resolve) => brokerServer?.close(() => resolve()));
  await redis?.stop();
}

/** Starts the fixture client in a child process (killed after the test). */
export function start(config: ClientConfig): ClientProcess {
  const child = new ClientProcess(config, redis.url);
  children.push(child);
  return child;
}

/** A proxy in front of the broker with `rule` (closed after the test). */
export async function proxy(rule: HoldRule): Promise<MqttProxy> {
  const started = await MqttProxy.start(Number(new URL(brokerAddress).port));
  started.holdFrom(rule);
  proxies.push(started);
  return started;
}

/** The stores a client with `clientId` has in Redis, for looking at them from the test. */
export function storesOf(clientId: string): RedisStores {
  return createRedisStores({
    redis: { url: redis.url },
    clientId,
    brokerUrl: NAMESPACE,
    logger: silentLogger,
  });
}

/** What a store holds now, in stream order. */
export async function storedPackets(
  stores: RedisStores,
  which: 'outgoingStore' | 'incomingStore',
): Promise<Packet[]> {
  const stream = stores[which].createStream();
  const packets: Packet[] = [];
  for await (const packet of stream) packets.push(packet as Packet);
  return packets;
}

/** Payloads the broker accepted on `topic`, in order. */
export function receivedOn(topic: string): string[] {
  return published.filter((entry) => entry.topic === topic).map((entry) => entry.payload);
}
