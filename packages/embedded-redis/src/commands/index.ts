import type { CommandSpec } from '../types.js';
import { commands as acl } from './acl.js';
import { commands as cluster } from './cluster.js';
import { commands as connection } from './connection.js';
import { commands as hashes } from './hashes.js';
import { commands as keys } from './keys.js';
import { commands as lists } from './lists.js';
import { commands as pubsub } from './pubsub.js';
import { commands as scripting } from './scripting.js';
import { commands as server } from './server.js';
import { commands as sets } from './sets.js';
import { commands as sortedSets } from './sorted-sets.js';
import { commands as streams } from './streams.js';
import { commands as strings } from './strings.js';
import { commands as transactions } from './transactions.js';

/** Every command the server knows, by lower-case name. */
export function commandTable(): Map<string, CommandSpec> {
  const table = new Map<string, CommandSpec>();
  const families = [connection, server, strings, keys, hashes, lists, sets, sortedSets, streams, pubsub];
  for (const family of [...families, transactions, scripting, acl, cluster]) {
    for (const spec of family) table.set(spec.name, spec);
  }
  return table;
}
