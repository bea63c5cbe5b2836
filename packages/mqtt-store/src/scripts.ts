import { loadScriptFile } from '@relaybus/redis';

const script = (name: string, keys: number) =>
  loadScriptFile(new URL(`../scripts/${name}.lua`, import.meta.url), keys);

/** The Lua scripts of the MQTT store, read once when the module loads (run with EVALSHA). */
export const SCRIPTS = {
  put: script('put', 3),
  del: script('del', 3),
  page: script('page', 3),
} as const;
