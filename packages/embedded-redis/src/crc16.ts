/**
 * Redis Cluster key slots: CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection) of the
 * key, or of its hash tag, modulo 16 384.
 */

/** Number of hash slots in a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
}

/** CRC16-XMODEM of bytes `start..end` (exclusive) of a latin1 binary string. */
function crcOfString(key: string, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ key.charCodeAt(i)) & 0xff] as number);
  }
  return crc;
}

/** CRC16-XMODEM of bytes `start..end` (exclusive) of a Buffer. */
function crcOfBuffer(key: Buffer, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (key[i] as number)) & 0xff] as number);
  }
  return crc;
}

/**
 * CRC16-XMODEM of the whole input (a latin1 binary string or a Buffer), as Redis's `crc16()`.
 * `crc16('123456789') === 0x31c3`.
 */
export function crc16(data: string | Buffer): number {
  return typeof data === 'string' ? crcOfString(data, 0, data.length) : crcOfBuffer(data, 0, data.length);
}

/**
 * The Cluster hash slot (0..16383) of `key`, exactly as Redis computes it: when the key holds a `{`
 * followed later by a `}` with at least one byte between them, only the bytes between the first
 * `{` and the first `}` after it are hashed (the hash tag); otherwise the whole key is.
 * `key` is a latin1 binary string (each char one byte) or a Buffer.
 */
export function keySlot(key: string | Buffer): number {
  if (typeof key === 'string') {
    const open = key.indexOf('{');
    if (open >= 0) {
      const close = key.indexOf('}', open + 1);
      if (close > open + 1) return crcOfString(key, open + 1, close) & (CLUSTER_SLOTS - 1);
    }
    return crcOfString(key, 0, key.length) & (CLUSTER_SLOTS - 1);
  }
  const open = key.indexOf(0x7b);
  if (open >= 0) {
    const close = key.indexOf(0x7d, open + 1);
    if (close > open + 1) return crcOfBuffer(key, open + 1, close) & (CLUSTER_SLOTS - 1);
  }
  return crcOfBuffer(key, 0, key.length) & (CLUSTER_SLOTS - 1);
}
