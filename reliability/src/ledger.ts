import type { Redis } from 'iovalkey';

/**
 * The ledger of a fault run: a Redis hash `faults:handled:<subject>` mapping each message id to how
 * often a handler finished with it. Handlers write it before their ack, so an id in the ledger was
 * handled at least once, whatever happened to the ack afterwards.
 */
export function ledgerKey(subject: string): string {
  return `faults:handled:${subject}`;
}

/** The list of publish → handle latency samples (ms) of a run, written by the consumers. */
export function latencyKey(subject: string): string {
  return `faults:latency:${subject}`;
}

/** Reads the whole ledger: id → times handled. */
export async function readLedger(client: Redis, key: string): Promise<Map<string, number>> {
  const raw = await client.hgetall(key);
  const ledger = new Map<string, number>();
  for (const [id, count] of Object.entries(raw)) ledger.set(id, Number(count));
  return ledger;
}

/** What a fault run adds up to. */
export interface Tally {
  /** Publishes that resolved (the transport accepted them). */
  readonly published: number;
  /** Of those, how many were handled at least once. */
  readonly handled: number;
  /** Published and never handled. */
  readonly lost: number;
  /** Handlings beyond the first, over all published ids. */
  readonly duplicates: number;
  /** The first few lost ids, for the failure message. */
  readonly lostIds: readonly string[];
}

/** Compares the ids whose publish resolved with the ledger. */
export function tally(published: Iterable<string>, ledger: ReadonlyMap<string, number>): Tally {
  let count = 0;
  let handled = 0;
  let duplicates = 0;
  const lostIds: string[] = [];
  let lost = 0;
  for (const id of published) {
    count++;
    const times = ledger.get(id) ?? 0;
    if (times > 0) {
      handled++;
      duplicates += times - 1;
    } else {
      lost++;
      if (lostIds.length < 10) lostIds.push(id);
    }
  }
  return { published: count, handled, lost, duplicates, lostIds };
}

/**
 * The summary line every fault test prints:
 * `faults: <name>: published=P handled=H lost=L duplicates=D [key=value …]`.
 */
export function summaryLine(
  name: string,
  result: Tally,
  extra: Readonly<Record<string, string | number>> = {},
): string {
  const rest = Object.entries(extra)
    .map(([key, value]) => ` ${key}=${value}`)
    .join('');
  return `faults: ${name}: published=${result.published} handled=${result.handled} lost=${result.lost} duplicates=${result.duplicates}${rest}`;
}
