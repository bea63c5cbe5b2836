import { execFile, execFileSync } from 'node:child_process';
import { announceEmbedded, loadEmbedded, serverChoice } from './embedded.js';
import { freePort, isPortFree } from './ports.js';
import { cleanStaleDirs, findServerBinary, makeTempDir, removeDir, type ServerProcess } from './process.js';
import { sendCommand } from './resp.js';
import { isPortClash, ServerStartError, serverArgs, spawnUntilReady } from './server.js';
import { delay, until } from './until.js';

/** Options of `startRedisCluster`. */
export interface RedisClusterOptions {
  /** Number of primaries (no replicas), at least 3. Default 3. */
  primaries?: number;
  /** Require this password on every node (`requirepass`); `urls` then carry it. */
  password?: string;
  /** Which servers to use, overriding `RELAYBUS_TEST_REDIS` (see `startRedis`). */
  server?: 'real' | 'embedded';
}

/** A Redis Cluster for tests: `primaries` primaries, no replicas, all 16 384 slots covered. */
export interface RedisCluster {
  /** Where it runs: `REDIS_CLUSTER_URLS` (external), redis-server children (local) or the embedded Cluster in this process. */
  readonly kind: 'external' | 'local' | 'embedded';
  /** Every node, in start order (node i owns the i-th slot range). */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** `redis://[:password@]host:port` of every node; pass them (or `nodes`) as Cluster seed nodes. */
  readonly urls: string[];
  /** SIGTERMs node `index` and resolves once it has exited (its data dir is kept). */
  stopNode(index: number): Promise<void>;
  /**
   * Starts node `index` again on the same port and dir; resolves once it answers PING and, when
   * every node is up, once it reports `cluster_state:ok`.
   */
  startNode(index: number): Promise<void>;
  /** Kills every node and removes their temp dirs. Idempotent. */
  stop(): Promise<void>;
}

const CLUSTER_READY_TIMEOUT_MS = 20_000;
const MAX_PORT_ATTEMPTS = 5;

interface Node {
  readonly host: string;
  readonly port: number;
  readonly args: string[];
  readonly dir: string;
  proc: ServerProcess | undefined;
}

/** Reads CLUSTER INFO of one node as a field map. */
async function clusterInfo(host: string, port: number, password?: string): Promise<Map<string, string>> {
  const text = String(await sendCommand(host, port, ['CLUSTER', 'INFO'], { password }));
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

async function nodeHealthy(
  host: string,
  port: number,
  expectedNodes: number,
  password?: string,
): Promise<boolean> {
  const info = await clusterInfo(host, port, password);
  return info.get('cluster_state') === 'ok' && Number(info.get('cluster_known_nodes')) === expectedNodes;
}

const versionCache = new Map<string, boolean>();

/** Whether the server accepts `cluster-port` (Redis 7+, every Valkey). */
function supportsClusterPort(binary: string): boolean {
  let supported = versionCache.get(binary);
  if (supported === undefined) {
    try {
      const version = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 });
      const major = Number(/v=(\d+)/.exec(version)?.[1] ?? 0);
      supported = /valkey/i.test(version) || major >= 7;
    } catch {
      supported = false;
    }
    versionCache.set(binary, supported);
  }
  return supported;
}

/** A free port and a free cluster bus port (port + 10000 where `cluster-port` is unsupported). */
async function pickNodePorts(explicitBusPort: boolean): Promise<{ port: number; busArgs: string[] }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (explicitBusPort) {
      const busPort = await freePort();
      if (busPort !== port) return { port, busArgs: ['--cluster-port', String(busPort)] };
    } else if (port + 10_000 <= 65_535 && (await isPortFree(port + 10_000))) {
      return { port, busArgs: [] };
    }
  }
  throw new Error('could not find a free port pair for a cluster node');
}

async function startNodeProcess(binary: string, password: string | undefined): Promise<Node> {
  let lastError: unknown;
  for (let attempt = 0; attempt < MAX_PORT_ATTEMPTS; attempt++) {
    // An explicit bus port where possible: the default (port + 10000) may be taken or out of range.
    const { port, busArgs } = await pickNodePorts(supportsClusterPort(binary));
    const dir = makeTempDir();
    const args = [
      ...serverArgs(port, dir, true, password),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '2000',
      ...busArgs,
      ...(password === undefined ? [] : ['--masterauth', password]),
    ];
    try {
      const proc = await spawnUntilReady(binary, args, dir, port, password);
      return { host: '127.0.0.1', port, args, dir, proc };
    } catch (error) {
      removeDir(dir);
      lastError = error;
      if (!(error instanceof ServerStartError && isPortClash(error.log))) throw error;
    }
  }
  throw lastError;
}

function runCli(cli: string, args: readonly string[], password: string | undefined): Promise<string> {
  // The password goes through the environment, not argv, so it stays out of `ps`.
  const env = password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: password };
  return new Promise((resolve, reject) => {
    execFile(cli, args, { timeout: 30_000, env }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${cli} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`.trim()));
      } else {
        resolve(stdout);
      }
    });
  });
}

class LocalRedisCluster implements RedisCluster {
  readonly kind = 'local' as const;
  private stopped = false;

  constructor(
    private readonly binary: string,
    private readonly members: Node[],
    private readonly password: string | undefined,
  ) {}

  get nodes(): ReadonlyArray<{ host: string; port: number }> {
    return this.members.map(({ host, port }) => ({ host, port }));
  }

  get urls(): string[] {
    const auth = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`;
    return this.members.map(({ host, port }) => `redis://${auth}${host}:${port}`);
  }

  private member(index: number): Node {
    const node = this.members[index];
    if (!node) throw new RangeError(`node index ${index} is out of range 0..${this.members.length - 1}`);
    if (this.stopped) throw new Error('the cluster was stopped');
    return node;
  }

  async stopNode(index: number): Promise<void> {
    const node = this.member(index);
    await node.proc?.stop('SIGTERM');
    node.proc = undefined;
  }

  async startNode(index: number): Promise<void> {
    const node = this.member(index);
    if (node.proc?.isRunning) return;
    const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS;
    for (;;) {
      try {
        node.proc = await spawnUntilReady(this.binary, node.args, node.dir, node.port, this.password);
        break;
      } catch (error) {
        if (!(error instanceof ServerStartError && isPortClash(error.log)) || Date.now() > deadline)
          throw error;
        await delay(100);
      }
    }
    if (this.members.every((member) => member.proc?.isRunning)) {
      await until(
        () => nodeHealthy(node.host, node.port, this.members.length, this.password),
        Math.max(deadline - Date.now(), 1_000),
        `cluster node ${node.host}:${node.port} to report cluster_state:ok after a restart`,
      );
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(
      this.members.map(async (node) => {
        await node.proc?.stop('SIGKILL');
        removeDir(node.dir);
      }),
    );
  }
}

class ExternalRedisCluster implements RedisCluster {
  readonly kind = 'external' as const;
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;

  constructor(readonly urls: string[]) {
    this.nodes = urls.map((url) => {
      const parsed = new URL(url);
      return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : 6379 };
    });
  }

  async stopNode(): Promise<void> {
    throw new Error(
      'cannot stop a node of an external cluster (REDIS_CLUSTER_URLS); unset it to test node failures',
    );
  }

  async startNode(): Promise<void> {
    throw new Error(
      'cannot start a node of an external cluster (REDIS_CLUSTER_URLS); unset it to test node failures',
    );
  }

  async stop(): Promise<void> {
    // not ours to stop
  }
}

/** The embedded Cluster (@relaybus/embedded-redis) in this process, behind the RedisCluster shape. */
async function startEmbeddedCluster(primaries: number, password: string | undefined): Promise<RedisCluster> {
  const module = await loadEmbedded();
  if (typeof module.startEmbeddedRedisCluster !== 'function') {
    throw new Error(
      '@relaybus/embedded-redis does not export startEmbeddedRedisCluster (is it built? run `pnpm run build`)',
    );
  }
  const cluster = await module.startEmbeddedRedisCluster({
    nodes: primaries,
    host: '127.0.0.1',
    ...(password === undefined ? {} : { password }),
  });
  let stopped = false;
  const check = (index: number): void => {
    if (stopped) throw new Error('the cluster was stopped');
    if (!Number.isInteger(index) || index < 0 || index >= cluster.nodes.length) {
      throw new RangeError(`node index ${index} is out of range 0..${cluster.nodes.length - 1}`);
    }
  };
  return {
    kind: 'embedded',
    nodes: cluster.nodes.map(({ host, port }) => ({ host, port })),
    urls: [...cluster.urls],
    async stopNode(index) {
      check(index);
      await cluster.stopNode(index);
    },
    async startNode(index) {
      check(index);
      await cluster.startNode(index);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await cluster.close();
    },
  };
}

/**
 * Starts a throwaway Redis Cluster: `primaries` cluster-enabled redis-server processes on free
 * loopback ports (AOF on, node timeout 2 s), joined with `redis-cli --cluster create`.
 * `REDIS_CLUSTER_URLS` (comma-separated `redis://host:port`) uses an existing cluster instead.
 * Without either redis-server and redis-cli on PATH, or with `RELAYBUS_TEST_REDIS=embedded` (or
 * `{ server: 'embedded' }`), it starts the embedded Cluster (@relaybus/embedded-redis) in this
 * process instead (kind `embedded`; a stopped node keeps its data in memory), saying so once on
 * stderr; `RELAYBUS_TEST_REDIS=real` forbids that fallback.
 *
 * Guarantee: when the promise resolves, every node reports `cluster_state:ok` and knows all the
 * others, so every slot is served. Call `stop()` in `afterAll`; the nodes also die with this process.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  if (!Number.isInteger(primaries) || primaries < 3) {
    throw new Error(`startRedisCluster: primaries must be an integer >= 3, got ${String(primaries)}`);
  }
  const choice = serverChoice(options.server);
  cleanStaleDirs();
  if (choice === 'embedded') {
    announceEmbedded('RELAYBUS_TEST_REDIS=embedded');
    return startEmbeddedCluster(primaries, options.password);
  }
  const external = process.env.REDIS_CLUSTER_URLS;
  if (external) {
    return new ExternalRedisCluster(
      external
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean),
    );
  }
  const binary = findServerBinary();
  if (choice === undefined && !binary?.cli) {
    announceEmbedded(
      'no REDIS_CLUSTER_URLS and no redis-server with redis-cli on PATH (RELAYBUS_TEST_REDIS=real requires a real one)',
    );
    return startEmbeddedCluster(primaries, options.password);
  }
  if (!binary) {
    throw new Error(
      'Cannot start a Redis Cluster for tests: no redis-server or valkey-server on PATH; install redis-server ' +
        '(`apt-get install -y redis-server`) or set REDIS_CLUSTER_URLS',
    );
  }
  if (!binary.cli) {
    throw new Error('Cannot start a Redis Cluster for tests: redis-cli (or valkey-cli) is not on PATH');
  }
  const settled = await Promise.allSettled(
    Array.from({ length: primaries }, () => startNodeProcess(binary.server, options.password)),
  );
  const members = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const cluster = new LocalRedisCluster(binary.server, members, options.password);
  try {
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    await runCli(
      binary.cli,
      [
        '--cluster',
        'create',
        ...members.map((node) => `${node.host}:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      options.password,
    );
    await until(
      async () => {
        const states = await Promise.all(
          members.map((node) => nodeHealthy(node.host, node.port, primaries, options.password)),
        );
        return states.every(Boolean);
      },
      CLUSTER_READY_TIMEOUT_MS,
      `every cluster node to report cluster_state:ok and know ${primaries} nodes`,
    );
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
