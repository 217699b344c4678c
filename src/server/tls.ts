/**
 * TLS material for HTTPS: a PEM certificate (chain, leaf first) and its private key, read from
 * files (`--tls-cert`, `--tls-key`) and re-read on demand (SIGHUP in `s3local serve`). A reload
 * swaps the server's secure context (`tls.Server.setSecureContext`): connections already open keep
 * their session, new handshakes present the new certificate; nothing is dropped.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

/** The files of a certificate and its key, in PEM. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate (chain) and key, checked to belong together. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** Thrown when the files cannot be read or do not hold a matching PEM certificate and key. */
export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Checks the pair with OpenSSL (parse, key matches certificate) before any server uses it. */
function validate(material: TlsMaterial, files: TlsFiles): TlsMaterial {
  try {
    createSecureContext({ cert: material.cert, key: material.key });
  } catch (err) {
    throw new TlsConfigError(
      `The TLS certificate ${files.certFile} and key ${files.keyFile} are not a matching PEM pair: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
  return material;
}

/** Reads and validates the pair synchronously (server construction). */
export function readTlsFilesSync(files: TlsFiles): TlsMaterial {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.certFile);
  } catch (err) {
    throw new TlsConfigError(`Cannot read the TLS certificate ${files.certFile}: ${describe(err)}`);
  }
  try {
    key = readFileSync(files.keyFile);
  } catch (err) {
    throw new TlsConfigError(`Cannot read the TLS key ${files.keyFile}: ${describe(err)}`);
  }
  return validate({ cert, key }, files);
}

/** Reads and validates the pair (reload). */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([
    readFile(files.certFile).catch((err: unknown) => {
      throw new TlsConfigError(`Cannot read the TLS certificate ${files.certFile}: ${describe(err)}`);
    }),
    readFile(files.keyFile).catch((err: unknown) => {
      throw new TlsConfigError(`Cannot read the TLS key ${files.keyFile}: ${describe(err)}`);
    }),
  ]);
  return validate({ cert, key }, files);
}
