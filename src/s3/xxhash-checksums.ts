/**
 * The xxHash flexible checksums of S3: XXHASH64 (XXH64), XXHASH3 (XXH3-64) and XXHASH128
 * (XXH3-128), all with seed 0.
 *
 * Encoding, as the AWS CRT writes it (awslabs/aws-checksums `aws_xxhash*_compute`, which the SDKs
 * use): the digest's big-endian bytes — for XXH3-128 the high 64 bits, then the low — in base64.
 * Its test vectors for "Hello world" are c500b0c912b376d8 (XXH64), b6acb9d84a38ff74 (XXH3-64) and
 * 7351f89812f97382b91d05b31e04dd7f (XXH3-128); test/unit/checksums.test.ts checks them.
 *
 * XXH64 and XXH3-64 come from @node-rs/xxhash (native, streaming, synchronous). It offers no
 * streaming XXH3-128, so XXHASH128 uses hash-wasm's WebAssembly build: compiled once when this
 * module loads (a top-level await of a few milliseconds), then one shared instance whose state is
 * saved after each update and restored before the next, so every hasher stays synchronous and
 * independent of the others (the state is 580 bytes; the cost is noise next to the hashing).
 */
import { createRequire } from 'node:module';
import { Xxh64, xxh3 } from '@node-rs/xxhash';
import type { IHasher } from 'hash-wasm';
import type { StreamingChecksum } from './checksums.js';

/** The xxHash algorithms of S3. */
export type XxhashAlgorithm = 'XXHASH64' | 'XXHASH3' | 'XXHASH128';

function bigEndian64(value: bigint): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigUInt64BE(BigInt.asUintN(64, value), 0);
  return out;
}

/** XXHASH64: XXH64, seed 0. */
class Xxh64Checksum implements StreamingChecksum {
  readonly algorithm = 'XXHASH64' as const;
  private readonly hash = new Xxh64(0n);
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): string {
    return bigEndian64(this.hash.digest()).toString('base64');
  }
}

/** XXHASH3: XXH3-64, seed 0. */
class Xxh3Checksum implements StreamingChecksum {
  readonly algorithm = 'XXHASH3' as const;
  private readonly hash = xxh3.Xxh3.withSeed(0n);
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): string {
    return bigEndian64(this.hash.digest()).toString('base64');
  }
}

// hash-wasm ships one UMD file per algorithm: loading only XXH3-128's keeps start-up cheap (the
// package's index embeds every algorithm). It has no `exports` map, so the path is stable.
const require = createRequire(import.meta.url);
const { createXXHash128 } = require('hash-wasm/dist/xxhash128.umd.min.js') as {
  createXXHash128: () => Promise<IHasher>;
};
const shared: IHasher = await createXXHash128();
const INITIAL_STATE: Uint8Array = shared.init().save();

/** XXHASH128: XXH3-128, seed 0, over the shared WebAssembly instance (see the file comment). */
class Xxh128Checksum implements StreamingChecksum {
  readonly algorithm = 'XXHASH128' as const;
  private state: Uint8Array = INITIAL_STATE;
  update(data: Uint8Array): void {
    shared.load(this.state);
    shared.update(data);
    this.state = shared.save();
  }
  digest(): string {
    shared.load(this.state);
    return Buffer.from(shared.digest('binary')).toString('base64');
  }
}

/** A fresh streaming hasher for one of the xxHash algorithms. */
export function createXxhashChecksum(algorithm: XxhashAlgorithm): StreamingChecksum {
  switch (algorithm) {
    case 'XXHASH64':
      return new Xxh64Checksum();
    case 'XXHASH3':
      return new Xxh3Checksum();
    case 'XXHASH128':
      return new Xxh128Checksum();
  }
}
