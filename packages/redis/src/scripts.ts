import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, describeValue } from '@relaybus/core';
import type { RedisClient } from './client.js';
import { hashSlot } from './slot.js';

/** A Lua script with its SHA1 computed once, ready for EVALSHA. */
export interface LuaScript {
  /** What the script does, for errors and logs (a file's base name without `.lua`). */
  readonly name: string;
  /** How many of the arguments are keys; `runScript` checks it. */
  readonly numberOfKeys: number;
  readonly source: string;
  /** Lowercase hex SHA1 of `source`, as SCRIPT LOAD returns it. */
  readonly sha1: string;
}

/** Script argument: strings and numbers are sent as text, Buffers as raw bytes. */
export type ScriptArgument = string | Buffer | number;

/** Makes a `LuaScript`; its SHA1 is computed here, once. */
export function loadScript(name: string, numberOfKeys: number, source: string): LuaScript {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ConfigError('script.name', `must be a non-empty string, got ${describeValue(name)}`);
  }
  if (!Number.isInteger(numberOfKeys) || numberOfKeys < 0) {
    throw new ConfigError(
      `script ${name}: numberOfKeys`,
      `must be an integer >= 0, got ${describeValue(numberOfKeys)}`,
    );
  }
  if (typeof source !== 'string' || source.trim() === '') {
    throw new ConfigError(`script ${name}: source`, 'must be non-empty Lua source');
  }
  const sha1 = createHash('sha1').update(source).digest('hex');
  return Object.freeze({ name, numberOfKeys, source, sha1 });
}

/**
 * Reads a `.lua` file (synchronously, once, typically at module load) into a `LuaScript` named
 * after the file. Transports keep scripts in `<package>/scripts/*.lua`, list `scripts` in their
 * package.json `files`, and load them with
 * `loadScriptFile(new URL('../scripts/promote.lua', import.meta.url), 2)`.
 */
export function loadScriptFile(url: URL, numberOfKeys: number): LuaScript {
  const path = fileURLToPath(url);
  return loadScript(basename(path).replace(/\.lua$/, ''), numberOfKeys, readFileSync(path, 'utf8'));
}

function checkCall(client: RedisClient, script: LuaScript, keys: readonly string[]): void {
  if (keys.length !== script.numberOfKeys) {
    throw new ConfigError(
      `script ${script.name}: keys`,
      `expects ${script.numberOfKeys} keys, got ${keys.length}`,
    );
  }
  if (client.isCluster && keys.length > 1) {
    const slot = hashSlot(keys[0]!);
    for (const key of keys) {
      if (hashSlot(key) !== slot) {
        throw new ConfigError(
          `script ${script.name}: keys`,
          `must all hash to one Cluster slot (use one {hash tag}); ${keys[0]} and ${key} do not`,
        );
      }
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs `script` with EVALSHA; when the server does not have it (NOSCRIPT: first use, restart,
 * SCRIPT FLUSH, a failover) it sends EVAL, which also caches it for the next EVALSHA.
 * In Cluster mode every key must hash to one slot (checked here); the call goes to that slot's
 * node. Resolves with the script's reply (strings decoded as UTF-8; see `runScriptBuffer`).
 * Rejects with the server's error (e.g. an error the script raised) unchanged.
 */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: string[],
  args: ScriptArgument[],
): Promise<unknown> {
  checkCall(client, script, keys);
  try {
    return await client.evalsha(script.sha1, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await client.eval(script.source, keys.length, ...keys, ...args);
  }
}

/** `runScript`, but bulk-string replies come back as Buffers (for binary payloads). */
export async function runScriptBuffer(
  client: RedisClient,
  script: LuaScript,
  keys: string[],
  args: ScriptArgument[],
): Promise<unknown> {
  checkCall(client, script, keys);
  // Lower-case on purpose: iovalkey finds the key position of a `call`ed command by its lower-case
  // name only; an upper-case name is routed to a random Cluster node and costs a MOVED + slot refresh.
  try {
    return await client.callBuffer('evalsha', script.sha1, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await client.callBuffer('eval', script.source, keys.length, ...keys, ...args);
  }
}
