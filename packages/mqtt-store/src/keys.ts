import { ConfigError, checkName, describeValue } from '@relaybus/core';

/** The three keys of one store; all share one Cluster hash tag, so Lua can touch them together. */
export interface StoreKeys {
  /** Hash: field (messageId, or a Paho key) → encoded value. */
  readonly entries: string;
  /** Sorted set: field scored by insertion number; gives the order `createStream` yields. */
  readonly order: string;
  /** Counter feeding the insertion numbers; deleted with the store's last entry. */
  readonly counter: string;
}

/** Which store of a namespace: MQTT.js's outgoing or incoming store, or the Paho persistence. */
export type StoreKind = 'out' | 'in' | 'paho';

/** Longest accepted `clientId` and `brokerUrl`. */
const MAX_NAME_LENGTH = 1_024;

function checkTagPart(option: string, value: unknown): string {
  const name = checkName(option, value, MAX_NAME_LENGTH);
  if (/[\s{}]/.test(name)) {
    throw new ConfigError(option, `must not contain whitespace, "{" or "}", got ${describeValue(name)}`);
  }
  return name;
}

/** The MQTT client id, checked: 1–1024 characters, no whitespace, control characters or braces. */
export function checkClientId(clientId: unknown, option = 'clientId'): string {
  return checkTagPart(option, clientId);
}

/**
 * The broker URL as it names a namespace: checked like `clientId`, and with any user name and
 * password removed (`mqtt://user:secret@host:1883` → `mqtt://host:1883`), so no secret ends up in
 * a Redis key name.
 */
export function namespaceUrl(brokerUrl: unknown, option = 'brokerUrl'): string {
  const text = checkTagPart(option, brokerUrl);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (url.username === '' && url.password === '') return text;
  url.username = '';
  url.password = '';
  return url.href;
}

/**
 * The keys of one store: `${prefix}mqtt:{${clientId}@${brokerUrl}}:${kind}` (the hash) plus
 * `:order` and `:seq` after it. The tag `{clientId@brokerUrl}` puts every key of one client on one
 * Cluster slot.
 */
export function storeKeys(prefix: string, clientId: string, brokerUrl: string, kind: StoreKind): StoreKeys {
  const entries = `${prefix}mqtt:{${clientId}@${brokerUrl}}:${kind}`;
  return Object.freeze({ entries, order: `${entries}:order`, counter: `${entries}:seq` });
}
