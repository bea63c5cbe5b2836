import type { RedisClient } from '@relaybus/redis';
import { compareEntryIds } from './fields.js';
import type { ResolvedSubjectOptions } from './options.js';

/** Entry id just after `id` (`<ms>-<seq + 1>`). */
export function nextEntryId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  return `${ms}-${(BigInt(seq) + 1n).toString()}`;
}

/** The smaller of two entry ids (undefined counts as "no bound"). */
function lowest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareEntryIds(a, b) <= 0 ? a : b;
}

/** Reads a flat `[name, value, …]` reply into a map. */
export function flatMap(reply: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(reply)) return map;
  for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1]);
  return map;
}

/**
 * The lowest entry id some consumer group of `stream` still needs: its oldest pending entry, or
 * the entry after its last delivered one. Entries below it are read and acked by every group.
 * Undefined when the stream has no groups.
 */
export async function oldestNeededId(client: RedisClient, stream: string): Promise<string | undefined> {
  const groups = (await client.xinfo('GROUPS', stream)) as unknown[];
  let needed: string | undefined;
  for (const raw of groups) {
    const info = flatMap(raw);
    const name = String(info.get('name'));
    const summary = (await client.xpending(stream, name)) as [number, string | null, ...unknown[]];
    const candidate =
      summary[0] > 0 && summary[1] !== null
        ? String(summary[1])
        : nextEntryId(String(info.get('last-delivered-id') ?? '0-0'));
    needed = lowest(needed, candidate);
  }
  return needed;
}

/**
 * The janitor's pass over one stream: trims by count (`maxLen`) and age (`maxAgeMs`) with
 * `XTRIM MINID ~`, and in safe mode never past an entry some group still needs. Approximate (`~`)
 * trimming only removes whole radix-tree nodes, so it removes at most what was asked.
 * Resolves with the number of entries removed.
 */
export async function trimStream(
  client: RedisClient,
  stream: string,
  settings: ResolvedSubjectOptions,
  nowMs: number,
): Promise<number> {
  if (settings.maxLen === undefined && settings.maxAgeMs === undefined) return 0;
  let boundary: string | undefined;
  if (settings.maxAgeMs !== undefined) boundary = `${Math.max(0, nowMs - settings.maxAgeMs)}-0`;
  if (settings.maxLen !== undefined) {
    const length = Number(await client.xlen(stream));
    const excess = length - settings.maxLen;
    if (excess > 0) {
      // The first entry to keep is the (excess + 1)-th oldest.
      const head = (await client.xrange(stream, '-', '+', 'COUNT', excess + 1)) as Array<[string, string[]]>;
      const keep = head[head.length - 1]?.[0];
      if (keep !== undefined && (boundary === undefined || compareEntryIds(keep, boundary) > 0))
        boundary = keep;
    }
  }
  if (boundary === undefined) return 0;
  if (settings.safe) boundary = lowest(boundary, await oldestNeededId(client, stream));
  if (boundary === undefined) return 0;
  return Number(await client.xtrim(stream, 'MINID', '~', boundary));
}
