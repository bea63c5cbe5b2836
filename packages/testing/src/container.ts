import { answersPing } from './resp.js';
import type { RedisServer, RedisServerOptions, RestartOptions } from './server.js';
import { until } from './until.js';

/**
 * The slice of the `testcontainers` API this harness uses. `testcontainers` is an optional peer:
 * install it yourself (`pnpm add -D testcontainers`) to get a Valkey container when neither
 * REDIS_URL nor a local redis-server is available. It is loaded with a dynamic import.
 */
interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  restart(): Promise<void>;
  stop(): Promise<unknown>;
}
interface GenericContainerLike {
  withExposedPorts(...ports: number[]): GenericContainerLike;
  withCommand(command: string[]): GenericContainerLike;
  start(): Promise<StartedContainer>;
}
interface TestcontainersModule {
  GenericContainer: new (image: string) => GenericContainerLike;
}

/** Image used for the container fallback; override with RELAYBUS_TEST_VALKEY_IMAGE. */
export const VALKEY_IMAGE = 'valkey/valkey:8';

/** Starts a Valkey container through testcontainers (untested here: no Docker engine in CI). */
export async function startContainer(options: RedisServerOptions): Promise<RedisServer> {
  if (options.tls) throw new Error('tls: true needs a local redis-server; the container fallback has no TLS');
  const moduleName = 'testcontainers';
  let module: TestcontainersModule;
  try {
    module = (await import(moduleName)) as TestcontainersModule;
  } catch {
    throw new Error('the optional package "testcontainers" is not installed');
  }
  const command = ['valkey-server', '--save', ''];
  command.push('--appendonly', options.persistence ? 'yes' : 'no');
  if (options.persistence) command.push('--appendfsync', 'always');
  if (options.password !== undefined) command.push('--requirepass', options.password);
  command.push(...(options.args ?? []));
  const container = await new module.GenericContainer(process.env.RELAYBUS_TEST_VALKEY_IMAGE ?? VALKEY_IMAGE)
    .withExposedPorts(6379)
    .withCommand(command)
    .start();
  const password = options.password;
  let stopped = false;
  return {
    kind: 'container',
    get host() {
      return container.getHost();
    },
    get port() {
      return container.getMappedPort(6379);
    },
    get url() {
      const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
      return `redis://${auth}${container.getHost()}:${container.getMappedPort(6379)}`;
    },
    async restart(_options?: RestartOptions) {
      // Docker may map a different host port after a restart; read `url` again afterwards.
      await container.restart();
      await until(
        () => answersPing(container.getHost(), container.getMappedPort(6379), password),
        30_000,
        'the restarted container to answer PING',
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop();
    },
  };
}
