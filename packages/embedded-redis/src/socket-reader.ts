import { Socket } from 'node:net';

/** Bytes of one read slab; reads land in it one after another until less than MIN_READ is left. */
const SLAB_SIZE = 64 * 1024;
const MIN_READ = 8 * 1024;

interface HandleOwner {
  _handle: { useUserBuffer?: unknown } | null;
}

/**
 * Takes over a connection the server accepted paused (`pauseOnConnect`) and calls `onChunk` with
 * every read, without Node's stream machinery: the socket's handle moves to a new `Socket` made
 * with the `onread` option, whose reads land in slabs handed out here. A chunk is a view of a
 * slab that is never written again (the next read goes after it, or into a fresh slab), so a
 * parser may keep views across reads exactly as it kept 'data' chunks.
 *
 * Why: unpipelined, most of a request's cost was Node's socket layer. A bare server answering
 * `+PONG` to `redis-benchmark -c 50` measured 17.1k user-space instructions per request with
 * 'data' events and 9.2k with `onread` (docs/embedded-redis.md).
 *
 * `onread` is documented; handing an accepted socket's handle to a new `Socket` (the `handle`
 * option and `_handle`) is how Node itself passes connections around (cluster, child_process),
 * but not a documented API. Where the accepted socket does not look as expected, it is used
 * as is, with 'data' events.
 */
export function adoptSocket(accepted: Socket, onChunk: (chunk: Buffer) => void): Socket {
  const owner = accepted as unknown as HandleOwner;
  const handle = owner._handle;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function') {
    accepted.on('data', onChunk);
    accepted.resume();
    return accepted;
  }
  let slab = Buffer.allocUnsafe(SLAB_SIZE);
  let offset = 0;
  owner._handle = null;
  // The accepted socket no longer owns anything: destroying it only lets the server count it out.
  accepted.destroy();
  return new Socket({
    handle,
    onread: {
      buffer: () => {
        if (SLAB_SIZE - offset < MIN_READ) {
          slab = Buffer.allocUnsafe(SLAB_SIZE);
          offset = 0;
        }
        return slab.subarray(offset);
      },
      callback: (bytes: number, buffer: Uint8Array) => {
        offset += bytes;
        onChunk((buffer as Buffer).subarray(0, bytes));
        return true;
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
}
