import { type LuaScript, loadScriptFile } from '@relaybus/redis';

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
