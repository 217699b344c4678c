/**
 * HTTPS: a self-signed certificate made at test time with openssl; the AWS SDK (custom https
 * agent trusting it), awscli (`--ca-bundle`) and rclone (`--ca-cert`) round-trip objects,
 * including the aws-chunked uploads with trailing checksums (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
 * that current SDKs send over HTTPS only. The certificate is swapped without dropping
 * connections, in the library (reloadTls) and in `s3local serve` (SIGHUP).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Server, LocalBackend, TlsConfigError } from '../../src/index.js';
import { clientEnv, clientTestOptions, runClient } from '../helpers/clients.js';
import { startServeProcess } from '../helpers/serve-process.js';
import { rcloneRunner, writeRcloneConfig } from '../helpers/rclone.js';
import { startServer, tempDir, TEST_CREDENTIALS, type TestServer } from '../helpers/server.js';
import { makeCert, opensslTestOptions, waitFor, type TestCert } from './service-helpers.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** The fingerprint of the certificate a response's TLS connection presented. */
function peerFingerprint(res: IncomingMessage): string {
  return (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
}

async function fingerprintOf(certFile: string): Promise<string> {
  return new X509Certificate(await readFile(certFile)).fingerprint256;
}

/** GET over https with `agent`; resolves with the response (body read) and whether the socket was reused. */
function httpsGet(
  url: string,
  agent: Agent,
): Promise<{ status: number; fingerprint: string; reused: boolean; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent }, (res) => {
      const socket = res.socket as TLSSocket;
      const fingerprint = peerFingerprint(res);
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, fingerprint, reused: req.reusedSocket, socket }),
      );
    });
    req.setTimeout(15_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS', opensslTestOptions(), () => {
  let dir: string;
  let certA: TestCert;
  let certB: TestCert;
  let srv: TestServer;
  /** Headers of every request the server received. */
  const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];

  before(async () => {
    dir = await tempDir('s3local-tls-');
    certA = await makeCert(dir, 'a');
    certB = await makeCert(dir, 'b');
    srv = await startServer({ server: { tlsCert: certA.cert, tlsKey: certA.key } });
    const record = (req: IncomingMessage) =>
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    srv.server.http.prependListener('request', record);
    srv.server.http.prependListener('checkContinue', record);
  });
  after(async () => {
    await srv?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('listens on https and says so', () => {
    assert.equal(srv.server.secure, true);
    assert.match(srv.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('AWS SDK v3 with a custom CA: buffered PUT, aws-chunked trailer PUT, GET, list', async () => {
    const s3 = srv.client({
      requestHandler: { httpsAgent: new Agent({ ca: await readFile(certA.cert), keepAlive: true }) },
    });
    const small = Buffer.from('hello over TLS');
    await s3.send(new PutObjectCommand({ Bucket: 'default', Key: 'tls/small.txt', Body: small }));
    const big = randomBytes(3 * 1024 * 1024 + 5);
    const before = seen.length;
    // A stream body: over HTTPS the SDK sends aws-chunked with a CRC32 trailer, unsigned payload.
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'default',
        Key: 'tls/stream.bin',
        Body: Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]),
        ContentLength: big.length,
      }),
    );
    assert.equal(put.ETag, `"${md5(big)}"`);
    const trailerPut = seen.slice(before).find((r) => r.method === 'PUT');
    assert.ok(trailerPut, 'the server saw the PUT');
    assert.equal(trailerPut.headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    assert.equal(trailerPut.headers['x-amz-trailer'], 'x-amz-checksum-crc32');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'default', Key: 'tls/stream.bin' }));
    assert.equal(md5(Buffer.from(await got.Body!.transformToByteArray())), md5(big));
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'default', Prefix: 'tls/' }));
    assert.deepEqual(
      list.Contents?.map((o) => o.Key),
      ['tls/small.txt', 'tls/stream.bin'],
    );
  });

  it('AWS SDK v3 without the CA refuses the self-signed certificate', async () => {
    const s3 = new S3Client({
      endpoint: srv.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 1,
      requestHandler: { httpsAgent: new Agent({ ca: [] }) },
    });
    try {
      await assert.rejects(
        s3.send(new ListObjectsV2Command({ Bucket: 'default' })),
        /self[- ]signed|unable to verify|certificate/i,
      );
    } finally {
      s3.destroy();
    }
  });

  async function awsEnv(): Promise<NodeJS.ProcessEnv> {
    const config = join(dir, 'aws-config');
    await writeFile(config, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
    return clientEnv({
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  }

  it(
    'awscli with --ca-bundle: cp up (CRC32 trailer) and down, ls; AWS_CA_BUNDLE works too',
    clientTestOptions('aws'),
    async () => {
      const env = await awsEnv();
      const file = join(dir, 'aws-up.bin');
      const body = randomBytes(2 * 1024 * 1024 + 3);
      await writeFile(file, body);
      const aws = (e: NodeJS.ProcessEnv, ...args: string[]) =>
        runClient('aws', ['--endpoint-url', srv.endpoint, ...args], e, 120_000);
      const before = seen.length;
      const up = await aws(env, '--ca-bundle', certA.cert, 's3', 'cp', file, 's3://default/tls/aws up.bin');
      assert.equal(up.code, 0, up.err);
      const put = seen.slice(before).find((r) => r.method === 'PUT');
      assert.ok(put, 'the server saw the PUT');
      // botocore 1.36+ sends flexible checksums; over HTTPS as an unsigned aws-chunked trailer.
      const botocore = /botocore\/(\d+)\.(\d+)/.exec(put.headers['user-agent'] ?? '');
      if (botocore && (Number(botocore[1]) > 1 || Number(botocore[2]) >= 36)) {
        assert.equal(put.headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
        assert.equal(put.headers['x-amz-trailer'], 'x-amz-checksum-crc32');
      }
      const down = join(dir, 'aws-down.bin');
      // The CA given the other documented way: the AWS_CA_BUNDLE variable.
      const dl = await aws(
        { ...env, AWS_CA_BUNDLE: certA.cert },
        's3',
        'cp',
        's3://default/tls/aws up.bin',
        down,
      );
      assert.equal(dl.code, 0, dl.err);
      assert.equal(md5(await readFile(down)), md5(body));
      const ls = await aws(env, '--ca-bundle', certA.cert, 's3', 'ls', 's3://default/tls/');
      assert.equal(ls.code, 0, ls.err);
      assert.match(ls.out, /aws up\.bin/);
      const refused = await aws(env, 's3', 'ls', 's3://default/tls/');
      assert.notEqual(refused.code, 0, 'without the CA, awscli must refuse the certificate');
      assert.match(refused.err, /SSL|certificate/i);
    },
  );

  it('rclone with --ca-cert: copy, check, lsf', clientTestOptions('rclone'), async () => {
    const conf = join(dir, 'rclone.conf');
    await writeRcloneConfig(conf, { endpoint: srv.endpoint });
    const src = join(dir, 'rclone-src');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'sub', 'a.bin'), randomBytes(700_000));
    await writeFile(join(src, 'b.txt'), 'rclone over TLS\n');
    const rclone = rcloneRunner(conf, ['--retries', '1', '--low-level-retries', '1'], 120_000);
    const copy = await rclone('--ca-cert', certA.cert, 'copy', src, 'srv:default/rclone-tls');
    assert.equal(copy.code, 0, copy.err);
    const check = await rclone('--ca-cert', certA.cert, 'check', src, 'srv:default/rclone-tls');
    assert.equal(check.code, 0, check.err);
    const lsf = await rclone('--ca-cert', certA.cert, 'lsf', '-R', 'srv:default/rclone-tls');
    assert.equal(lsf.code, 0, lsf.err);
    assert.deepEqual(lsf.out.trim().split('\n').sort(), ['b.txt', 'sub/', 'sub/a.bin']);
    const refused = await rclone('lsf', 'srv:default/rclone-tls');
    assert.notEqual(refused.code, 0, 'without --ca-cert, rclone must refuse the certificate');
  });

  it('reloadTls: new connections get the new certificate, an open keep-alive connection stays', async () => {
    const [fpA, fpB] = [await fingerprintOf(certA.cert), await fingerprintOf(certB.cert)];
    const ca = [await readFile(certA.cert), await readFile(certB.cert)];
    const kept = new Agent({ ca, keepAlive: true, maxSockets: 1 });
    const health = `${srv.endpoint}/_s3local/health`;
    try {
      const first = await httpsGet(health, kept);
      assert.equal(first.status, 200);
      assert.equal(first.fingerprint, fpA);
      // The files change in place (as certbot does), then the reload.
      const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
      await copyFile(certA.cert, live.cert);
      await copyFile(certA.key, live.key);
      const backend = await LocalBackend.open({ path: join(dir, 'reload-store') });
      const server = createS3Server({ backend, noAuth: true, tlsCert: live.cert, tlsKey: live.key });
      const { url } = await server.listen(0, '127.0.0.1');
      try {
        const a1 = await httpsGet(`${url}/_s3local/health`, kept);
        assert.equal(a1.fingerprint, fpA);
        await copyFile(certB.cert, live.cert);
        await copyFile(certB.key, live.key);
        await server.reloadTls();
        const a2 = await httpsGet(`${url}/_s3local/health`, kept);
        assert.equal(a2.status, 200);
        assert.equal(a2.reused, true, 'the open connection was kept');
        assert.equal(a2.socket, a1.socket, 'an open connection keeps its session');
        const fresh = new Agent({ ca });
        try {
          const b = await httpsGet(`${url}/_s3local/health`, fresh);
          assert.equal(b.status, 200);
          assert.equal(b.fingerprint, fpB, 'a new connection gets the new certificate');
        } finally {
          fresh.destroy();
        }
        // A broken pair is refused and the current certificate stays.
        await writeFile(live.key, (await readFile(certA.key)).toString());
        await assert.rejects(server.reloadTls(), TlsConfigError);
        const fresh2 = new Agent({ ca });
        try {
          assert.equal((await httpsGet(`${url}/_s3local/health`, fresh2)).fingerprint, fpB);
        } finally {
          fresh2.destroy();
        }
      } finally {
        await server.close(2000);
        await backend.close();
      }
    } finally {
      kept.destroy();
    }
  });

  it('refuses a key that does not match the certificate, naming the files', async () => {
    const backend = await LocalBackend.open({ path: join(dir, 'bad-store') });
    try {
      assert.throws(
        () => createS3Server({ backend, noAuth: true, tlsCert: certA.cert, tlsKey: certB.key }),
        (err: unknown) => err instanceof TlsConfigError && err.message.includes(certA.cert),
      );
      assert.throws(
        () => createS3Server({ backend, noAuth: true, tlsCert: join(dir, 'missing.crt'), tlsKey: certA.key }),
        /Cannot read the TLS certificate .*missing\.crt: ENOENT/,
      );
    } finally {
      await backend.close();
    }
  });

  it('s3local serve --tls-cert: https banner with client settings; SIGHUP reloads without dropping', async () => {
    const home = await tempDir('s3local-tls-serve-');
    const live = { cert: join(home, 'tls.crt'), key: join(home, 'tls.key') };
    await copyFile(certA.cert, live.cert);
    await copyFile(certA.key, live.key);
    const env: NodeJS.ProcessEnv = { ...clientEnv(), XDG_CONFIG_HOME: join(home, 'config') };
    for (const k of Object.keys(env)) if (k.startsWith('S3LOCAL_')) delete env[k];
    const serve = await startServeProcess(
      [
        '--path',
        join(home, 'data'),
        '--listen',
        '127.0.0.1:0',
        '--tls-cert',
        live.cert,
        '--tls-key',
        live.key,
      ],
      env,
    );
    const ca = [await readFile(certA.cert), await readFile(certB.cert)];
    const kept = new Agent({ ca, keepAlive: true, maxSockets: 1 });
    try {
      const out = serve.stdout();
      assert.match(serve.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(out, /Starting S3 server at https:\/\/127\.0\.0\.1:\d+\//);
      assert.ok(out.includes(`rclone --ca-cert ${live.cert}`), out);
      assert.ok(
        out.includes(`aws --endpoint-url ${serve.endpoint} --ca-bundle ${live.cert} s3 ls s3://default/`),
        out,
      );
      const first = await httpsGet(`${serve.endpoint}/_s3local/health`, kept);
      assert.equal(first.fingerprint, await fingerprintOf(certA.cert));
      await copyFile(certB.cert, live.cert);
      await copyFile(certB.key, live.key);
      serve.child.kill('SIGHUP');
      await waitFor('the reload log line', () => serve.stderr().includes('TLS certificate reloaded'));
      const again = await httpsGet(`${serve.endpoint}/_s3local/health`, kept);
      assert.equal(again.status, 200);
      assert.equal(again.reused, true, 'the keep-alive connection survived SIGHUP');
      const fresh = new Agent({ ca });
      try {
        assert.equal(
          (await httpsGet(`${serve.endpoint}/_s3local/health`, fresh)).fingerprint,
          await fingerprintOf(certB.cert),
        );
      } finally {
        fresh.destroy();
      }
    } finally {
      kept.destroy();
      assert.equal(await serve.stop(), 0, 'serve exits 0 on SIGTERM');
      await rm(home, { recursive: true, force: true });
    }
  });
});
