import { silentLogger } from '@relaybus/core';
import {
  loadScript,
  loadScriptFile,
  RedisConnector,
  resolveRedisOptions,
  runScript,
  runScriptBuffer,
} from '@relaybus/redis';
import { type RedisServer, randomSubject, startRedis } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: RedisServer;
let connector: RedisConnector;
beforeAll(async () => {
  server = await startRedis();
  connector = new RedisConnector(resolveRedisOptions({ url: server.url }), silentLogger);
});
afterAll(async () => {
  await connector?.close();
  await server?.stop();
});

const addToCounter = loadScriptFile(new URL('./fixtures/add-to-counter.lua', import.meta.url), 1);

describe('runScript', () => {
  it('runs a script the server has never seen (NOSCRIPT falls back to EVAL)', async () => {
    const client = connector.client('scripts');
    const key = randomSubject('counter');
    expect(await runScript(client, addToCounter, [key], [2])).toBe(2);
    expect(await client.script('EXISTS', addToCounter.sha1)).toEqual([1]);
    expect(await runScript(client, addToCounter, [key], ['3'])).toBe(5);
  });

  it('survives SCRIPT FLUSH', async () => {
    const client = connector.client('scripts');
    const key = randomSubject('counter');
    await runScript(client, addToCounter, [key], [1]);
    await client.script('FLUSH');
    expect(await client.script('EXISTS', addToCounter.sha1)).toEqual([0]);
    expect(await runScript(client, addToCounter, [key], [1])).toBe(2);
  });

  it('passes the error a script raises through unchanged', async () => {
    const failing = loadScript('fail', 0, "return redis.error_reply('BUSYGROUP custom failure')");
    await expect(runScript(connector.client('scripts'), failing, [], [])).rejects.toThrow(
      /BUSYGROUP custom failure/,
    );
  });

  it('checks the number of keys before sending', async () => {
    await expect(runScript(connector.client('scripts'), addToCounter, [], [1])).rejects.toThrow(
      /expects 1 keys/,
    );
  });

  it('returns binary replies intact with runScriptBuffer', async () => {
    const echo = loadScript(
      'echo',
      1,
      "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])",
    );
    const bytes = Buffer.from([0, 255, 128, 10, 13, 0xc3]);
    const reply = await runScriptBuffer(connector.client('scripts'), echo, [randomSubject('bin')], [bytes]);
    expect(Buffer.isBuffer(reply)).toBe(true);
    expect((reply as Buffer).equals(bytes)).toBe(true);
  });
});
