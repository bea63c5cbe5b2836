import {
  hashSlot,
  type LuaScript,
  loadScriptFile,
  type RedisClient,
  type ScriptArgument,
} from '@relaybus/redis';

function script(name: string, numberOfKeys: number): LuaScript {
  return loadScriptFile(new URL(`../scripts/${name}.lua`, import.meta.url), numberOfKeys);
}

/** The Lua scripts of the Streams transport, loaded once (files in `scripts/`). */
export const Scripts = {
  requeue: script('requeue', 1),
  defer: script('defer', 2),
  schedule: script('schedule', 1),
  promote: script('promote', 2),
  deadLetter: script('dead-letter', 2),
  reclaim: script('reclaim', 2),
  touch: script('touch', 1),
  release: script('release', 1),
  pruneConsumers: script('prune-consumers', 1),
  replay: script('replay', 2),
  lease: script('lease', 1),
  members: script('members', 1),
  unlease: script('unlease', 1),
} as const;

/**
 * Runs `script` with EVALSHA (EVAL on NOSCRIPT) and returns bulk strings as Buffers.
 *
 * Stands in for `@relaybus/redis`'s `runScriptBuffer`, which sends `callBuffer('EVALSHA', …)`:
 * iovalkey looks up the key position of a `call`ed command by its lower-case name only, so on a
 * Cluster the upper-case form goes to a random node and every call costs a MOVED redirect plus a
 * full slot-table refresh. Same contract otherwise (keys must share one slot).
 */
export async function runScriptBuffer(
  client: RedisClient,
  script: LuaScript,
  keys: string[],
  args: ScriptArgument[],
): Promise<unknown> {
  if (client.isCluster && keys.length > 1) {
    const slot = hashSlot(keys[0] as string);
    if (keys.some((key) => hashSlot(key) !== slot)) {
      throw new Error(`script ${script.name}: keys must hash to one Cluster slot`);
    }
  }
  try {
    return await client.callBuffer('evalsha', script.sha1, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return await client.callBuffer('eval', script.source, keys.length, ...keys, ...args);
  }
}
