/**
 * Compatibility matrix, boto3 (the pyenv Python's, whose 2025+ botocore sends CRC32 checksums by
 * default, in aws-chunked trailers for streamed uploads; the Debian python3-boto3 when that is all
 * there is): put_object, upload_file through multipart, download_file, the list_objects_v2
 * paginator, copy_object, a presigned GET, delete_objects, against a real `s3local serve` in both
 * bucket modes. The Python side asserts what it sees and prints JSON that this side checks.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { clientEnv, runClient } from '../../helpers/clients.js';
import {
  ALL_SPECS,
  DOC_TARGET,
  clientVersion,
  describeMatrix,
  matrixSuite,
  optionalClient,
} from './harness.js';
import type { Target } from './harness.js';
import { md5File, writeRandomFile } from './trees.js';

/** The first Python that imports boto3: the pyenv one (2025+ botocore), else Debian's. */
const PYTHON = [join(homedir(), '.pyenv', 'shims', 'python3'), '/usr/bin/python3'].find(
  (py) => existsSync(py) && spawnSync(py, ['-c', 'import boto3'], { env: clientEnv() }).status === 0,
);
const available =
  PYTHON !== undefined
    ? { timeout: 600_000 }
    : process.env.CI === 'true'
      ? { timeout: 600_000 } // CI installs python3-boto3: fail below rather than skip
      : optionalClient(false, 'no Python with boto3: apt-get install python3-boto3');

const CLIENT_CODE = `import boto3
from botocore.config import Config

# credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
s3 = boto3.client(
    "s3",
    endpoint_url="{endpoint}",
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)`;

const SCRIPT = `
import base64, hashlib, json, os, sys, urllib.request, zlib
import boto3, botocore
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

${CLIENT_CODE.replace('"{endpoint}"', 'os.environ["S3_ENDPOINT"]')}
bucket, pre, work = os.environ["S3_BUCKET"], os.environ["S3_PREFIX"], os.environ["WORK"]
new_botocore = tuple(int(x) for x in botocore.__version__.split(".")[:2]) >= (1, 36)

def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()

def out(**kw):
    print(json.dumps(kw))

step = sys.argv[1]
if step == "create_bucket":
    s3.create_bucket(Bucket=bucket)
    s3.head_bucket(Bucket=bucket)
    out(buckets=[b["Name"] for b in s3.list_buckets()["Buckets"]])
elif step == "put_object":
    data = "hello from boto3 \\u2713\\n".encode()
    r = s3.put_object(Bucket=bucket, Key=pre + "small.txt", Body=data)
    h = s3.head_object(Bucket=bucket, Key=pre + "small.txt", ChecksumMode="ENABLED")
    assert h["ContentLength"] == len(data)
    if new_botocore:
        # botocore >= 1.36 computes a CRC32 for every upload by default
        assert r.get("ChecksumCRC32") == crc32_b64(data), r
        assert h.get("ChecksumCRC32") == crc32_b64(data), h
    g = s3.get_object(Bucket=bucket, Key=pre + "small.txt", ChecksumMode="ENABLED")
    assert g["Body"].read() == data
    out(etag=r["ETag"], md5=hashlib.md5(data).hexdigest(), crc32=r.get("ChecksumCRC32"), new_botocore=new_botocore)
elif step == "upload_file":
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(os.path.join(work, "big.bin"), bucket, pre + "dir/big file.bin", Config=cfg)
    s3.download_file(bucket, pre + "dir/big file.bin", os.path.join(work, "big.down"), Config=cfg)
    h = s3.head_object(Bucket=bucket, Key=pre + "dir/big file.bin")
    out(etag=h["ETag"], size=h["ContentLength"])
elif step == "list_paginator":
    for i in range(7):
        s3.put_object(Bucket=bucket, Key=f"{pre}list/k{i}", Body=f"v{i}".encode())
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=pre + "list/", PaginationConfig={"PageSize": 3}))
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    top = s3.list_objects_v2(Bucket=bucket, Prefix=pre, Delimiter="/")
    out(pages=len(pages), keys=keys,
        prefixes=[p["Prefix"] for p in top.get("CommonPrefixes", [])],
        top=[o["Key"] for o in top.get("Contents", [])])
elif step == "copy_object":
    s3.copy_object(Bucket=bucket, Key=pre + "copy of small.txt",
                   CopySource={"Bucket": bucket, "Key": pre + "small.txt"},
                   MetadataDirective="REPLACE", Metadata={"origin": "boto3"})
    h = s3.head_object(Bucket=bucket, Key=pre + "copy of small.txt")
    out(etag=h["ETag"], metadata=h["Metadata"])
elif step == "presign":
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": pre + "small.txt"}, ExpiresIn=300)
    with urllib.request.urlopen(url) as resp:
        out(status=resp.status, body=resp.read().decode())
elif step == "delete_objects":
    keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=pre) for o in p.get("Contents", [])]
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    left = s3.list_objects_v2(Bucket=bucket, Prefix=pre)["KeyCount"]
    if pre == "":
        s3.delete_bucket(Bucket=bucket)
    out(requested=len(keys), deleted=len(r.get("Deleted", [])), errors=r.get("Errors", []), left=left)
`;

const SETTINGS = `# Python\n${CLIENT_CODE.replace('{endpoint}', DOC_TARGET.endpoint)}\n# environment\nAWS_ACCESS_KEY_ID=${DOC_TARGET.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${DOC_TARGET.secretAccessKey}`;

const suite = matrixSuite('boto3', available, () =>
  clientVersion(PYTHON ?? 'python3', [
    '-c',
    "import boto3, botocore, sys; print(f'boto3 {boto3.__version__} (botocore {botocore.__version__}, Python {sys.version.split()[0]})')",
  ]),
);

for (const { bucketMode, backend } of ALL_SPECS) {
  describeMatrix(suite, { bucketMode, backend }, { title: 'boto3', homeTag: 'boto3' }, (m) => {
    const bucket = bucketMode === 'advanced' ? 'boto3-matrix' : 'default';
    const pre = bucketMode === 'advanced' ? '' : 'boto3/';
    const py = async (step: string, t: Target = m.srv) => {
      const r = await runClient(
        PYTHON ?? 'python3-with-boto3',
        [join(m.home, 'workflow.py'), step],
        clientEnv({
          AWS_ACCESS_KEY_ID: t.accessKeyId,
          AWS_SECRET_ACCESS_KEY: t.secretAccessKey,
          AWS_CONFIG_FILE: '/nonexistent/config',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
          AWS_EC2_METADATA_DISABLED: 'true',
          S3_ENDPOINT: t.endpoint,
          S3_BUCKET: bucket,
          S3_PREFIX: pre,
          WORK: m.home,
        }),
      );
      assert.equal(r.code, 0, `boto3 ${step}:\n${r.err}\n${r.out}`);
      return JSON.parse(r.out.trim().split('\n').pop()!) as Record<string, unknown>;
    };
    const cell = (workflow: string) => m.cell(workflow, SETTINGS);

    m.setup(async () => {
      await writeFile(join(m.home, 'workflow.py'), SCRIPT);
      await writeRandomFile(join(m.home, 'big.bin'), 12 * 1024 * 1024 + 3);
    });

    if (bucketMode === 'advanced') {
      suite.workflow(cell('create_bucket, head_bucket, list_buckets'), async () => {
        const r = await py('create_bucket');
        assert.ok((r.buckets as string[]).includes(bucket));
      });
    }

    suite.workflow(cell('put_object and get_object with default checksums (CRC32)'), async () => {
      const r = await py('put_object');
      assert.equal(r.etag, `"${r.md5 as string}"`);
      if (r.new_botocore) assert.equal(typeof r.crc32, 'string', 'the CRC32 checksum is stored and returned');
    });

    suite.workflow(cell('upload_file (multipart) and download_file'), async () => {
      const mark = await m.srv.mark();
      const r = await py('upload_file');
      const ops = await m.srv.ops(mark);
      assert.equal(ops.get('UploadPart'), 3, '12 MiB in parts of 5 MiB');
      assert.equal(ops.get('CompleteMultipartUpload'), 1);
      assert.match(r.etag as string, /-3"$/);
      assert.equal(r.size, 12 * 1024 * 1024 + 3);
      assert.equal(await md5File(join(m.home, 'big.down')), await md5File(join(m.home, 'big.bin')));
    });

    suite.workflow(cell('list_objects_v2 paginator, with a delimiter'), async () => {
      const r = await py('list_paginator');
      assert.equal(r.pages, 3);
      assert.deepEqual(
        r.keys,
        [0, 1, 2, 3, 4, 5, 6].map((i) => `${pre}list/k${i}`),
      );
      assert.deepEqual(r.prefixes, [`${pre}dir/`, `${pre}list/`]);
      assert.deepEqual(r.top, [`${pre}small.txt`]);
    });

    suite.workflow(cell('copy_object (metadata REPLACE)'), async () => {
      const put = await py('put_object');
      const r = await py('copy_object');
      assert.equal(r.etag, put.etag);
      assert.deepEqual(r.metadata, { origin: 'boto3' });
    });

    suite.workflow(cell('generate_presigned_url (GET)'), async () => {
      const r = await py('presign');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'hello from boto3 ✓\n');
    });

    suite.workflow(cell('delete_objects (and delete_bucket in advanced mode)'), async () => {
      const r = await py('delete_objects');
      assert.equal(r.requested, 10);
      assert.equal(r.deleted, 10);
      assert.deepEqual(r.errors, []);
      assert.equal(r.left, 0);
    });
  });
}
