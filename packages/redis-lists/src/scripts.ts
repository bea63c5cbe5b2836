import { loadScriptFile } from '@relaybus/redis';

const script = (name: string, keys: number) =>
  loadScriptFile(new URL(`../scripts/${name}.lua`, import.meta.url), keys);

/** The Lua scripts of the Lists transport, read once when the module loads. */
export const SCRIPTS = {
  take: script('take', 2),
  ack: script('ack', 1),
  requeue: script('requeue', 2),
  defer: script('defer', 2),
  schedule: script('schedule', 1),
  promote: script('promote', 2),
  deadLetter: script('dead-letter', 2),
  release: script('release', 2),
  adopt: script('adopt', 1),
  heartbeat: script('heartbeat', 2),
  reap: script('reap', 4),
  leave: script('leave', 3),
} as const;
