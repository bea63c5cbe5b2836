import { type ChildProcess, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Prefix of every temp dir the harness creates under `os.tmpdir()`. */
export const TEMP_DIR_PREFIX = 'relaybus-test-';
const STALE_AFTER_MS = 60 * 60 * 1000;
const LOG_TAIL_BYTES = 4_096;

/** Finds the first of `names` that is an executable file on PATH. */
export function findOnPath(names: readonly string[]): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here; keep looking
      }
    }
  }
  return undefined;
}

/** The redis-server (or valkey-server) binary on PATH, with its CLI, or undefined. */
export function findServerBinary(): { server: string; cli: string | undefined } | undefined {
  const redis = findOnPath(['redis-server']);
  if (redis) return { server: redis, cli: findOnPath(['redis-cli', 'valkey-cli']) };
  const valkey = findOnPath(['valkey-server']);
  if (valkey) return { server: valkey, cli: findOnPath(['valkey-cli', 'redis-cli']) };
  return undefined;
}

let cleanedStale = false;

/**
 * Removes temp dirs of earlier runs that are older than an hour and whose owning process is gone
 * (a run killed before it could clean up). Runs once per process; never throws.
 */
export function cleanStaleDirs(): void {
  if (cleanedStale) return;
  cleanedStale = true;
  const root = tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(root).filter((name) => name.startsWith(TEMP_DIR_PREFIX));
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of entries) {
    const dir = join(root, name);
    try {
      if (now - statSync(dir).mtimeMs < STALE_AFTER_MS) continue;
      if (ownerAlive(dir)) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // another run may be removing it at the same time
    }
  }
}

function ownerAlive(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A fresh temp dir `os.tmpdir()/relaybus-test-*`, tagged with this process id. */
export function makeTempDir(): string {
  cleanStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), TEMP_DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  return dir;
}

/** Removes a temp dir; never throws. */
export function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort: a stale dir is cleaned by a later run
  }
}

const live = new Set<ServerProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL every server this process still owns.
  process.on('exit', () => {
    for (const server of live) server.killNow();
  });
}

/**
 * One redis-server child process, kept attached (`--daemonize no`), logging to stdout, whose last
 * few KB of output are kept for error messages. A watchdog shell holds a pipe from this process and
 * SIGKILLs the server when the pipe closes, so the server dies even when this process is SIGKILLed.
 */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly watchdog: ChildProcess | undefined;
  private tail = '';
  private hasExited = false;

  constructor(binary: string, args: readonly string[], cwd: string) {
    installExitHook();
    this.child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
    const collect = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-LOG_TAIL_BYTES);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.hasExited = true;
        live.delete(this);
        this.stopWatchdog();
        resolve({ code, signal });
      });
      this.child.once('error', (error) => {
        this.tail += `\n${error.message}`;
        this.hasExited = true;
        live.delete(this);
        this.stopWatchdog();
        resolve({ code: null, signal: null });
      });
    });
    // A forgotten stop() must not keep the test process alive; the exit hook still kills it.
    this.child.unref();
    (this.child.stdout as Socket | null)?.unref();
    (this.child.stderr as Socket | null)?.unref();
    this.watchdog = this.child.pid === undefined ? undefined : startWatchdog(this.child.pid);
    live.add(this);
  }

  /** Whether the process has exited. */
  get isRunning(): boolean {
    return !this.hasExited;
  }

  /** The last few KB the server printed. */
  logTail(): string {
    return this.tail.trim();
  }

  /** Sends `signal` and resolves once the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.hasExited) return;
    // Hold the event loop open while waiting: the child is unref'd so it never does by itself.
    this.child.ref();
    this.child.kill(signal);
    await this.exited;
  }

  /** Synchronous SIGKILL, for the process 'exit' hook. */
  killNow(): void {
    this.stopWatchdog();
    if (!this.hasExited) this.child.kill('SIGKILL');
  }

  private stopWatchdog(): void {
    if (this.watchdog && this.watchdog.exitCode === null && this.watchdog.signalCode === null) {
      this.watchdog.kill('SIGKILL');
    }
  }
}

function startWatchdog(pid: number): ChildProcess | undefined {
  try {
    // `read` returns when our end of the pipe closes, i.e. when this process dies for any reason.
    const watchdog = spawn('sh', ['-c', 'read x; kill -9 "$0" 2>/dev/null', String(pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    watchdog.on('error', () => {
      // no sh: the exit hook is the only safety net left
    });
    watchdog.unref();
    (watchdog.stdin as Socket | null)?.unref();
    return watchdog;
  } catch {
    return undefined;
  }
}
