import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** MQTT control packet types (the high nibble of a packet's first byte). */
export const PacketType = { publish: 3, puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 } as const;

/** Which way bytes flow: `up` client → broker, `down` broker → client. */
export type Direction = 'up' | 'down';

/** Where a proxy connection goes silent: from the first packet of `type` flowing `direction`. */
export interface HoldRule {
  readonly direction: Direction;
  readonly type: number;
}

/**
 * A loopback TCP proxy in front of an MQTT broker that forwards whole MQTT packets and, with a
 * hold rule, swallows the first packet of one type in one direction and everything after it on
 * that connection, keeping both sockets open: the client sees a link that stopped answering, the
 * broker never sees (or never answers) that packet. That is how a test crashes a client at an
 * exact point of a QoS flow without sleeps.
 */
export class MqttProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #rule: HoldRule | undefined;
  /** How many connections have hit the rule. */
  held = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts a proxy on 127.0.0.1 (a free port) in front of `brokerPort`. */
  static async start(brokerPort: number): Promise<MqttProxy> {
    const server = createServer();
    const proxy = new MqttProxy(server);
    server.on('connection', (client) => proxy.#pipe(client, brokerPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `mqtt://127.0.0.1:<port>` of the proxy. */
  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return `mqtt://127.0.0.1:${address.port}`;
  }

  /** Sets the rule for connections from now on (existing ones keep theirs). */
  holdFrom(rule: HoldRule | undefined): void {
    this.#rule = rule;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #pipe(client: Socket, brokerPort: number): void {
    const broker = createConnection({ host: '127.0.0.1', port: brokerPort });
    this.#sockets.add(client).add(broker);
    const rule = this.#rule;
    const forward = (from: Socket, to: Socket, direction: Direction) => {
      let pending = Buffer.alloc(0);
      let holding = false;
      from.on('data', (chunk: Buffer) => {
        if (holding) return;
        pending = Buffer.concat([pending, chunk]);
        for (;;) {
          const size = packetSize(pending);
          if (size === undefined || pending.length < size) return;
          const type = pending[0]! >> 4;
          if (rule?.direction === direction && rule.type === type) {
            holding = true;
            this.held++;
            return;
          }
          to.write(pending.subarray(0, size));
          pending = pending.subarray(size);
        }
      });
    };
    forward(client, broker, 'up');
    forward(broker, client, 'down');
    const end = () => {
      client.destroy();
      broker.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(broker);
    };
    client.on('close', end).on('error', end);
    broker.on('close', end).on('error', end);
  }
}

/** Length of the MQTT packet at the start of `buffer`, or undefined while its header is incomplete. */
function packetSize(buffer: Buffer): number | undefined {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (i >= buffer.length) return undefined;
    const byte = buffer[i]!;
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return 1 + i + remaining;
    multiplier *= 128;
  }
  throw new Error('malformed MQTT remaining length');
}
