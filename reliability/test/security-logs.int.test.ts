import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedis } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogProbeConfig } from '../src/log-probe.js';

const PROBE = fileURLToPath(new URL('../dist/log-probe.js', import.meta.url));
let server: RedisServer;
let config: LogProbeConfig;
let lines: string[] = [];

/** A loopback port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Runs the probe with relaybus's default pino logger at debug; resolves with all it wrote. */
function runProbe(probeConfig: LogProbeConfig): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROBE, JSON.stringify(probeConfig)], {
      env: { ...process.env, RELAYBUS_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

beforeAll(async () => {
  server = await startRedis({ password: `server-${randomBytes(6).toString('hex')}` });
  const secret = (what: string): string => `${what}-${randomBytes(8).toString('hex')}`;
  config = {
    server: `${server.host}:${server.port}`,
    closedPort: await closedPort(),
    urlSecret: secret('urlpw'),
    optionSecret: secret('optpw'),
    providerSecret: secret('provpw'),
  };
  lines = (await runProbe(config)).split('\n');
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

function secrets(): string[] {
  return [config.urlSecret, config.optionSecret, config.providerSecret];
}

function leaking(texts: readonly string[]): string[] {
  return texts
    .filter((text) => secrets().some((value) => text.includes(value)))
    .map((text) => text.slice(0, 300));
}

/** What a reader of a log line or an error sees first: pino's msg, target, err.message and stack. */
function headlines(): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (line.startsWith('{')) {
      const entry = JSON.parse(line) as {
        msg?: string;
        target?: string;
        err?: { message?: string; stack?: string };
      };
      out.push(entry.msg ?? '', entry.target ?? '', entry.err?.message ?? '', entry.err?.stack ?? '');
    } else if (line.startsWith('probe ')) {
      out.push(line);
    }
  }
  return out;
}

describe('no secrets in logs or errors (every transport and the Broker, pino at debug)', () => {
  it('ran every failure and logged it (the scan below is not vacuous)', () => {
    const output = lines.join('\n');
    expect(output).toContain('probe done');
    expect(lines.filter((line) => line.includes('"msg":"redis connection error"')).length).toBeGreaterThan(3);
    expect(lines.filter((line) => /^probe \S+ publish: \w*Error/.test(line)).length).toBe(12);
    expect(output).toMatch(/WRONGPASS/);
    expect(output).toMatch(/ECONNREFUSED/);
  });

  it('keeps passwords out of every log message, target, error message and stack', () => {
    const seen = headlines();
    console.info(
      `security: log lines=${lines.length} headlines scanned=${seen.length} leaks=${leaking(seen).length}`,
    );
    expect(leaking(seen)).toEqual([]);
    // The target every connector line names is the redacted one.
    expect(lines.some((line) => line.includes(`"target":"redis://127.0.0.1:${config.closedPort}/0"`))).toBe(
      true,
    );
  });

  // Was a bug: iovalkey's AUTH error carries `command.args = [user, password]`, which reached the
  // logs and the errors callers got. The connector now masks those arguments in place.
  it('keeps passwords out of every byte written, error properties included', () => {
    const leaks = leaking(lines);
    console.info(`security: full scan leaks=${leaks.length}`);
    expect(leaks).toEqual([]);
  });

  // Was a bug: connect() let iovalkey's own errors out (no relaybus code, no target); it now
  // rejects with a TransportError naming the target.
  it('refuses a publish that cannot connect with a typed RelaybusError', () => {
    const kinds = lines.filter((line) => line.startsWith('probe-kind '));
    expect(kinds).toHaveLength(12);
    expect(kinds.filter((line) => !line.includes(' relaybus '))).toEqual([]);
  });
});
