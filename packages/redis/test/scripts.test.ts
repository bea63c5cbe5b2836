import { createHash } from 'node:crypto';
import { ConfigError } from '@relaybus/core';
import { loadScript, loadScriptFile } from '@relaybus/redis';
import { describe, expect, it } from 'vitest';

describe('loadScript', () => {
  it('computes the SHA1 that SCRIPT LOAD would return, once', () => {
    const script = loadScript('ping', 0, "return 'pong'");
    expect(script.sha1).toBe(createHash('sha1').update("return 'pong'").digest('hex'));
    expect(script).toMatchObject({ name: 'ping', numberOfKeys: 0, source: "return 'pong'" });
    expect(Object.isFrozen(script)).toBe(true);
  });

  it('rejects a bad name, key count or empty source', () => {
    expect(() => loadScript('', 0, 'return 1')).toThrow(ConfigError);
    expect(() => loadScript('x', -1, 'return 1')).toThrow(/numberOfKeys/);
    expect(() => loadScript('x', 0, '  ')).toThrow(/source/);
  });
});

describe('loadScriptFile', () => {
  it('reads a .lua file and names the script after it', () => {
    const script = loadScriptFile(new URL('./fixtures/add-to-counter.lua', import.meta.url), 1);
    expect(script.name).toBe('add-to-counter');
    expect(script.numberOfKeys).toBe(1);
    expect(script.source).toContain("redis.call('INCRBY'");
  });
});
