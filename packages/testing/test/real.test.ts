import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realRedisAvailability, realRedisSuite } from '@relaybus/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const VARIABLES = ['PATH', 'REDIS_URL', 'REDIS_CLUSTER_URLS', 'RELAYBUS_TEST_REDIS'] as const;
let saved: Record<string, string | undefined> = {};
let dir: string;

beforeEach(() => {
  saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of VARIABLES) delete process.env[name];
  dir = mkdtempSync(join(tmpdir(), 'relaybus-real-test-'));
  process.env.PATH = dir;
});

afterEach(() => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  rmSync(dir, { recursive: true, force: true });
});

/** An executable named `name` in the test's PATH dir (never run: only found). */
function install(name: string): void {
  const file = join(dir, name);
  writeFileSync(file, '#!/bin/sh\nexit 1\n');
  chmodSync(file, 0o755);
}

describe('realRedisAvailability', () => {
  it('says why when nothing is installed and nothing is configured', () => {
    expect(realRedisAvailability()).toEqual({
      available: false,
      reason: 'no redis-server (or valkey-server) on PATH and REDIS_URL is not set',
    });
    expect(realRedisAvailability({ cluster: true })).toEqual({
      available: false,
      reason: 'no redis-server (or valkey-server) on PATH and REDIS_CLUSTER_URLS is not set',
    });
    expect(realRedisAvailability({ local: true })).toEqual({
      available: false,
      reason: 'no redis-server (or valkey-server) on PATH',
    });
  });

  it('counts REDIS_URL and REDIS_CLUSTER_URLS, except for what needs a local redis-server', () => {
    process.env.REDIS_URL = 'redis://127.0.0.1:6390';
    expect(realRedisAvailability()).toEqual({ available: true });
    expect(realRedisAvailability({ local: true }).available).toBe(false);
    expect(realRedisAvailability({ cluster: true }).available).toBe(false);
    process.env.REDIS_CLUSTER_URLS = 'redis://127.0.0.1:7000';
    expect(realRedisAvailability({ cluster: true })).toEqual({ available: true });
  });

  it('finds redis-server on PATH, and wants redis-cli with it for a Cluster', () => {
    install('redis-server');
    expect(realRedisAvailability({ local: true })).toEqual({ available: true });
    expect(realRedisAvailability({ cluster: true })).toEqual({
      available: false,
      reason: 'no redis-cli (or valkey-cli) on PATH and REDIS_CLUSTER_URLS is not set',
    });
    install('redis-cli');
    expect(realRedisAvailability({ cluster: true, local: true })).toEqual({ available: true });
  });

  it('is not hidden by RELAYBUS_TEST_REDIS=embedded, and is always there under RELAYBUS_TEST_REDIS=real', () => {
    install('valkey-server');
    process.env.RELAYBUS_TEST_REDIS = 'embedded';
    expect(realRedisAvailability().available).toBe(true);
    rmSync(join(dir, 'valkey-server'));
    expect(realRedisAvailability().available).toBe(false);
    // A missing server must then fail the run, not skip it.
    process.env.RELAYBUS_TEST_REDIS = 'real';
    expect(realRedisAvailability({ cluster: true, local: true })).toEqual({ available: true });
  });
});

describe('realRedisSuite', () => {
  it('skips with the reason in the title and on stderr, once per suite', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const name = `TLS suite ${Math.random()}`;
      const suite = realRedisSuite(name, 'TLS', { local: true });
      expect(suite).toEqual({
        skip: true,
        title: `${name} (skipped: needs a real redis-server for TLS: no redis-server (or valkey-server) on PATH)`,
      });
      realRedisSuite(name, 'TLS', { local: true });
      const lines = stderr.mock.calls.map(([text]) => String(text)).filter((text) => text.includes(name));
      expect(lines).toEqual([
        `relaybus: skipping "${name}": needs a real redis-server for TLS: no redis-server (or valkey-server) on PATH\n`,
      ]);
    } finally {
      stderr.mockRestore();
    }
  });

  it('runs the suite under its own name when a real server is there', () => {
    install('redis-server');
    expect(realRedisSuite('local suite', 'a process to kill', { local: true })).toEqual({
      skip: false,
      title: 'local suite',
    });
  });
});
