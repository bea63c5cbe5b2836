import { checkInteger, checkNumber, type StoredMessage, TransportError } from '@relaybus/core';
import type { RedisClient } from '@relaybus/redis';
import { compareEntryIds, decodeEntry } from './fields.js';
import { errorText } from './publisher.js';

/** Options of `readNewest`. */
export interface NewestOptions {
  readonly limit?: number;
  /** Only entries added before this time (ms since the epoch). */
  readonly before?: number;
}

/**
 * The newest entries of one or more streams (a subject's partitions), newest first: XREVRANGE
 * on each, merged by entry id (time), at most `limit` (default 100).
 */
export async function readNewest(
  client: RedisClient,
  subject: string,
  streams: readonly string[],
  options: NewestOptions,
): Promise<StoredMessage[]> {
  const limit = checkInteger('limit', options.limit ?? 100, 1, 1_000_000);
  const end =
    options.before === undefined ? '+' : `(${Math.floor(checkNumber('before', options.before, 0))}-0`;
  let replies: Array<Array<[Buffer, Buffer[]]>>;
  try {
    replies = (await Promise.all(
      streams.map((stream) => client.callBuffer('XREVRANGE', stream, end, '-', 'COUNT', limit)),
    )) as Array<Array<[Buffer, Buffer[]]>>;
  } catch (error) {
    throw new TransportError(`reading "${subject}" failed: ${errorText(error)}`, { cause: error });
  }
  const entries = replies.flat().map(([id, fields]) => ({ entryId: id.toString(), fields }));
  if (streams.length > 1) entries.sort((a, b) => compareEntryIds(b.entryId, a.entryId));
  return entries.slice(0, limit).map(({ entryId, fields }) => {
    const decoded = decodeEntry(fields, entryId);
    return { id: decoded.id, subject, payload: decoded.payload, headers: decoded.headers };
  });
}
