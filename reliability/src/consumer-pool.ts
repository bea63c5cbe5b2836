import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What one consumer child is told (passed as JSON in argv). */
export interface ConsumerChildConfig {
  readonly url: string;
  readonly subject: string;
  readonly group: string;
  readonly minIdleMs: number;
  readonly concurrency: number;
  readonly ledgerKey: string;
  /** When set, each handled message also pushes its publish → handle latency (ms) here. */
  readonly latencyKey?: string;
}

/** The compiled child script (the same path from src/ under vitest and from dist/). */
export const CONSUMER_CHILD_SCRIPT = fileURLToPath(new URL('../dist/consumer-child.js', import.meta.url));

const READY_TIMEOUT_MS = 60_000;
const SPAWN_ATTEMPTS = 3;
const OUTPUT_TAIL_BYTES = 4_096;

interface Member {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  output: string;
  ready: boolean;
}

/**
 * N consumer child processes draining one Streams subject. `killOne()` SIGKILLs one (round robin)
 * and starts a replacement, as a crash and a supervisor restart would.
 */
export class ConsumerPool {
  readonly #config: ConsumerChildConfig;
  readonly #members: Member[] = [];
  readonly #starting = new Set<Promise<void>>();
  #kills = 0;
  #stopped = false;

  constructor(config: ConsumerChildConfig) {
    if (!existsSync(CONSUMER_CHILD_SCRIPT)) {
      throw new Error(
        `${CONSUMER_CHILD_SCRIPT} is missing: build first (pnpm test:faults does; or npx tsc -b reliability)`,
      );
    }
    this.#config = config;
  }

  /** SIGKILLs so far. */
  get kills(): number {
    return this.#kills;
  }

  /** Process ids of the children running now. */
  pids(): number[] {
    return this.#members.flatMap((member) => (member.child.pid === undefined ? [] : [member.child.pid]));
  }

  /** Starts `count` children; resolves once each printed `ready`. */
  async start(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, () => this.#spawn()));
  }

  /**
   * SIGKILLs the oldest ready child (none: does nothing) and starts a replacement at once; resolves once the victim has
   * exited (the replacement gets ready in the background: see `ready()`).
   */
  async killOne(): Promise<void> {
    // Only a consumer that is up: killing one still starting would test nothing.
    const index = this.#members.findIndex((member) => member.ready);
    if (index < 0) return;
    const [victim] = this.#members.splice(index, 1) as [Member];
    victim.child.kill('SIGKILL');
    await victim.exited;
    this.#kills++;
    if (!this.#stopped) this.#track(this.#respawn());
  }

  /** Resolves once every replacement started so far is ready (rejects if one failed to start). */
  async ready(): Promise<void> {
    await Promise.all([...this.#starting]);
  }

  /** A replacement, tried again (a few times) when one fails to get ready, as a supervisor would. */
  async #respawn(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#spawn();
        return;
      } catch (error) {
        if (attempt >= SPAWN_ATTEMPTS || this.#stopped) throw error;
      }
    }
  }

  #track(start: Promise<void>): void {
    this.#starting.add(start);
    start.then(
      () => this.#starting.delete(start),
      () => undefined,
    );
  }

  /** SIGTERMs every child (graceful stop) and waits for them; SIGKILLs what is left after 5 s. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled([...this.#starting]);
    const members = this.#members.splice(0);
    for (const member of members) member.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const member of members) member.child.kill('SIGKILL');
    }, 5_000);
    await Promise.all(members.map((member) => member.exited));
    clearTimeout(timer);
  }

  #forget(member: Member): void {
    const index = this.#members.indexOf(member);
    if (index >= 0) this.#members.splice(index, 1);
  }

  async #spawn(): Promise<void> {
    const child = spawn(process.execPath, [CONSUMER_CHILD_SCRIPT, JSON.stringify(this.#config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const member: Member = {
      child,
      output: '',
      ready: false,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    this.#members.push(member);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Not ready in time: it must not start consuming later, unaccounted for.
        child.kill('SIGKILL');
        this.#forget(member);
        reject(new Error(`consumer child not ready after ${READY_TIMEOUT_MS} ms: ${member.output}`));
      }, READY_TIMEOUT_MS);
      const collect = (chunk: Buffer): void => {
        member.output = (member.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
        if (/^ready$/m.test(member.output)) {
          clearTimeout(timer);
          member.ready = true;
          resolve();
        }
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.#forget(member);
        reject(
          new Error(`consumer child exited (code ${code}, signal ${signal}) before ready: ${member.output}`),
        );
      });
    });
  }
}
