import { connect, type Socket } from 'node:net';

/** Sends raw bytes and collects the reply bytes until `done(text)` or the socket closes. */
export async function raw(
  port: number,
  data: string | Buffer,
  done: (text: string) => boolean = () => false,
) {
  const socket: Socket = connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no complete reply; got ${JSON.stringify(text)}`)),
      10_000,
    );
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (done(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve();
    });
    socket.on('error', () => {});
    socket.write(data);
  });
  socket.destroy();
  return { text, closed };
}
