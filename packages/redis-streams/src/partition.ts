/**
 * Which partition a message goes to. A keyed message always lands in the same partition
 * (FNV-1a of the key's UTF-8 bytes, modulo the count), so its key keeps its order; a message
 * without a key goes round robin.
 */
export function partitionFor(key: string | undefined, partitions: number, roundRobin: () => number): number {
  if (partitions <= 1) return 0;
  if (key === undefined) return roundRobin() % partitions;
  return fnv1a(key) % partitions;
}

/** 32-bit FNV-1a hash of a string's UTF-8 bytes, as an unsigned integer. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
