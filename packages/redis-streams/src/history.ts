import { checkInteger, checkNumber, type StoredMessage, TransportError } from '@relaybus/core';
import type { RedisClient } from '@relaybus/redis';
import { type DecodedEntry, decodeEntry } from './fields.js';
import { errorText } from './publisher.js';

/** Options of `readNewest`. */
export interface NewestOptions {
  readonly limit?: number;
  /** Only entries added before this time (ms since the epoch). */
  readonly before?: number;
}

/** How entries of several streams are merged: by publish time, or by dead-letter time. */
export type MergeOrder = 'published' | 'dead-lettered';

/** Most entries one XREVRANGE page asks for. */
const PAGE = 500;

/**
 * The newest messages of one or more streams (a subject's partitions), newest first, at most
 * `limit` (default 100). Requeued copies are skipped, so each message appears once, where it was
 * published. One stream is read in its exact order; several are merged by publish time, then
 * message id (exact for the generated ids of one publishing process), or for dead letters by the
 * server's microsecond time of dead-lettering.
 */
export async function readNewest(
  client: RedisClient,
  subject: string,
  streams: readonly string[],
  options: NewestOptions,
  order: MergeOrder = 'published',
): Promise<StoredMessage[]> {
  const limit = checkInteger('limit', options.limit ?? 100, 1, 1_000_000);
  const end =
    options.before === undefined ? '+' : `(${Math.floor(checkNumber('before', options.before, 0))}-0`;
  let lists: DecodedEntry[][];
  try {
    lists = await Promise.all(streams.map((stream) => newestOf(client, stream, end, limit)));
  } catch (error) {
    throw new TransportError(`reading "${subject}" failed: ${errorText(error)}`, { cause: error });
  }
  const entries = lists.flat();
  if (lists.length > 1) {
    entries.sort(
      order === 'dead-lettered'
        ? (a, b) => b.deadLetteredAtUs - a.deadLetteredAtUs
        : (a, b) => b.publishedAtMs - a.publishedAtMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
  }
  return entries.slice(0, limit).map((entry) => ({
    id: entry.id,
    subject,
    payload: entry.payload,
    headers: entry.headers,
  }));
}

async function newestOf(
  client: RedisClient,
  stream: string,
  end: string,
  limit: number,
): Promise<DecodedEntry[]> {
  const found: DecodedEntry[] = [];
  let upper = end;
  for (;;) {
    const count = Math.min(PAGE, Math.max(limit - found.length, 10));
    const page = (await client.callBuffer('xrevrange', stream, upper, '-', 'COUNT', count)) as Array<
      [Buffer, Buffer[]]
    >;
    for (const [rawId, fields] of page) {
      const decoded = decodeEntry(fields, rawId.toString());
      if (decoded.copyOf === undefined) found.push(decoded);
      if (found.length === limit) return found;
    }
    if (page.length < count) return found;
    upper = `(${(page[page.length - 1] as [Buffer, Buffer[]])[0].toString()}`;
  }
}
