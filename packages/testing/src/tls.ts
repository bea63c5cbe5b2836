import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath } from './process.js';

/** Files of a throwaway CA and a server certificate for `localhost` / `127.0.0.1`. */
export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The CA certificate (PEM), to pass as `tls.ca` to clients. */
  ca: string;
}

function openssl(binary: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { cwd, timeout: 20_000 }, (error, _stdout, stderr) => {
      if (error)
        reject(new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${stderr || error.message}`));
      else resolve();
    });
  });
}

/**
 * Creates, with the `openssl` CLI, a CA valid for a day and a server certificate it signed for
 * `localhost` and `127.0.0.1`, in `dir`. Rejects with a clear error when openssl is missing.
 */
export async function createTestCertificates(dir: string): Promise<TestCertificates> {
  const binary = findOnPath(['openssl']);
  if (!binary) throw new Error('TLS test servers need the openssl CLI on PATH (apt-get install -y openssl)');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    binary,
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=relaybus-test-ca',
    ],
    dir,
  );
  await openssl(
    binary,
    ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'],
    dir,
  );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await openssl(
    binary,
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  const caFile = join(dir, 'ca.crt');
  return {
    caFile,
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    ca: readFileSync(caFile, 'utf8'),
  };
}
