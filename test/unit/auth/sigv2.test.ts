import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticate } from '../../../src/auth/authenticate.js';
import { signV2 } from '../../../src/auth/sigv2.js';
import { EXAMPLE_KEY, exampleConfig, makeInput, rejectsWith, type HeaderList } from './helpers.js';

// The examples of https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
// (bucket johnsmith, 2007), with the AWS example key pair.
const at = (iso: string): ReturnType<typeof exampleConfig> => exampleConfig({ now: () => new Date(iso) });
const auth = (sig: string): [string, string] => ['Authorization', `AWS ${EXAMPLE_KEY.accessKeyId}:${sig}`];

describe('SigV2 header auth: the AWS examples', () => {
  it('Object GET, virtual-hosted and path style', async () => {
    const headers: HeaderList = [
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', 'Tue, 27 Mar 2007 19:36:42 +0000'],
      auth('bWq2s1WEIj+Ydj0vQ697zp+IXMU='),
    ];
    const config = at('2007-03-27T19:36:42Z');
    const r = await authenticate(
      makeInput('GET', '/photos/puppy.jpg', headers, undefined, 'johnsmith'),
      config,
    );
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
    await authenticate(makeInput('GET', '/johnsmith/photos/puppy.jpg', headers), config);
    await rejectsWith(
      () => authenticate(makeInput('GET', '/photos/puppy.jpg', headers), config),
      'SignatureDoesNotMatch',
    );
  });

  it('Object PUT with a Content-Type', async () => {
    const headers: HeaderList = [
      ['Content-Type', 'image/jpeg'],
      ['Content-Length', '94328'],
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', 'Tue, 27 Mar 2007 21:15:45 +0000'],
      auth('MyyxeRY7whkBe+bq8fHCL/2kKUg='),
    ];
    await authenticate(
      makeInput('PUT', '/photos/puppy.jpg', headers, Buffer.alloc(94328), 'johnsmith'),
      at('2007-03-27T21:15:45Z'),
    );
  });

  it('List (ordinary query parameters are not signed)', async () => {
    const headers: HeaderList = [
      ['User-Agent', 'Mozilla/5.0'],
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', 'Tue, 27 Mar 2007 19:42:41 +0000'],
      auth('htDYFYduRNen8P9ZfE/s9SuKy0U='),
    ];
    await authenticate(
      makeInput('GET', '/?prefix=photos&max-keys=50&marker=puppy', headers, undefined, 'johnsmith'),
      at('2007-03-27T19:42:41Z'),
    );
  });

  it('Fetch ?acl (a sub-resource is signed)', async () => {
    const headers: HeaderList = [
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', 'Tue, 27 Mar 2007 19:44:46 +0000'],
      auth('c2WLPFtWHVgbEmeEG93a4cG37dM='),
    ];
    await authenticate(
      makeInput('GET', '/?acl', headers, undefined, 'johnsmith'),
      at('2007-03-27T19:44:46Z'),
    );
    await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', '/?tagging', headers, undefined, 'johnsmith'),
          at('2007-03-27T19:44:46Z'),
        ),
      'SignatureDoesNotMatch',
    );
  });

  it('Delete with x-amz-date taking precedence over Date', async () => {
    const headers: HeaderList = [
      ['User-Agent', 'dotnet'],
      ['Host', 's3.amazonaws.com'],
      ['Date', 'Tue, 27 Mar 2007 21:20:27 +0000'],
      ['x-amz-date', 'Tue, 27 Mar 2007 21:20:26 +0000'],
      auth('lx3byBScXR6KzyMaifNkardMwNk='),
    ];
    await authenticate(
      makeInput('DELETE', '/johnsmith/photos/puppy.jpg', headers),
      at('2007-03-27T21:20:26Z'),
    );
  });

  it('Upload with amz headers, a repeated header and Content-MD5 (CNAME bucket)', async () => {
    const headers: HeaderList = [
      ['User-Agent', 'curl/7.15.5'],
      ['Host', 'static.johnsmith.net:8080'],
      ['Date', 'Tue, 27 Mar 2007 21:06:08 +0000'],
      ['x-amz-acl', 'public-read'],
      ['content-type', 'application/x-download'],
      ['Content-MD5', '4gJE4saaMU4BqNR0kLY+lw=='],
      ['X-Amz-Meta-ReviewedBy', 'joe@johnsmith.net'],
      ['X-Amz-Meta-ReviewedBy', 'jane@johnsmith.net'],
      ['X-Amz-Meta-FileChecksum', '0x02661779'],
      ['X-Amz-Meta-ChecksumAlgorithm', 'crc32'],
      ['Content-Disposition', 'attachment; filename=database.dat'],
      ['Content-Encoding', 'gzip'],
      ['Content-Length', '5913339'],
      auth('ilyl83RwaSoYIEdixDQcA4OnAnc='),
    ];
    const r = await authenticate(
      makeInput('PUT', '/db-backup.dat.gz', headers, undefined, 'static.johnsmith.net'),
      at('2007-03-27T21:06:08Z'),
    );
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
    r.body.stream.destroy();
  });

  it('List all my buckets, and unicode keys signed as sent on the wire', async () => {
    await authenticate(
      makeInput('GET', '/', [
        ['Host', 's3.amazonaws.com'],
        ['Date', 'Wed, 28 Mar 2007 01:29:59 +0000'],
        auth('qGdzdERIC03wnaRNKh6OqZehG9s='),
      ]),
      at('2007-03-28T01:29:59Z'),
    );
    await authenticate(
      makeInput('GET', '/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re', [
        ['Host', 's3.amazonaws.com'],
        ['Date', 'Wed, 28 Mar 2007 01:49:49 +0000'],
        auth('DNEZGsoieTZ92F3bUfSPQcbGmlM='),
      ]),
      at('2007-03-28T01:49:49Z'),
    );
  });
});

describe('SigV2: failures and the query form', () => {
  const getHeaders: HeaderList = [
    ['Host', 'johnsmith.s3.amazonaws.com'],
    ['Date', 'Tue, 27 Mar 2007 19:36:42 +0000'],
    auth('bWq2s1WEIj+Ydj0vQ697zp+IXMU='),
  ];

  it('wrong secret: SignatureDoesNotMatch with StringToSign', async () => {
    const config = exampleConfig({
      credentials: { ...EXAMPLE_KEY, secretAccessKey: 'x' },
      now: () => new Date('2007-03-27T19:36:42Z'),
    });
    const err = await rejectsWith(
      () => authenticate(makeInput('GET', '/photos/puppy.jpg', getHeaders, undefined, 'johnsmith'), config),
      'SignatureDoesNotMatch',
    );
    assert.equal(
      err.extra.StringToSign,
      'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg',
    );
    assert.equal(err.extra.SignatureProvided, 'bWq2s1WEIj+Ydj0vQ697zp+IXMU=');
  });

  it('16 minutes of skew is RequestTimeTooSkewed; an unknown key InvalidAccessKeyId', async () => {
    await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', '/photos/puppy.jpg', getHeaders, undefined, 'johnsmith'),
          at('2007-03-27T19:52:43Z'),
        ),
      'RequestTimeTooSkewed',
    );
    const other: HeaderList = [
      ...getHeaders.slice(0, 2),
      ['Authorization', 'AWS AKIDOTHER:bWq2s1WEIj+Ydj0vQ697zp+IXMU='],
    ];
    await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', '/photos/puppy.jpg', other, undefined, 'johnsmith'),
          at('2007-03-27T19:36:42Z'),
        ),
      'InvalidAccessKeyId',
    );
  });

  it('a date before 1970 is no valid request time: AccessDenied, not RequestTimeTooSkewed', async () => {
    // ceph/s3-tests test_object_create_bad_date_before_epoch_aws2.
    const old: HeaderList = [getHeaders[0]!, ['Date', 'Tue, 07 Jul 1950 21:53:04 GMT'], getHeaders[2]!];
    const err = await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', '/photos/puppy.jpg', old, undefined, 'johnsmith'),
          at('2007-03-27T19:36:42Z'),
        ),
      'AccessDenied',
    );
    assert.match(err.message, /valid Date or x-amz-date/);
  });

  it('an empty Authorization header is an anonymous request: AccessDenied', async () => {
    // ceph/s3-tests test_object_create_bad_authorization_empty (S3: 403 AccessDenied).
    const empty: HeaderList = [getHeaders[0]!, getHeaders[1]!, ['Authorization', '']];
    await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', '/photos/puppy.jpg', empty, undefined, 'johnsmith'),
          at('2007-03-27T19:36:42Z'),
        ),
      'AccessDenied',
    );
  });

  it('--no-sigv2 refuses SigV2 with AccessDenied', async () => {
    const err = await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', '/photos/puppy.jpg', getHeaders, undefined, 'johnsmith'),
          exampleConfig({ allowSigV2: false }),
        ),
      'AccessDenied',
    );
    assert.match(err.message, /Signature Version 2 is disabled/);
  });

  // The query-string example of the same page: expires 1175139620 (2007-03-29T03:40:20Z).
  const presigned =
    '/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D';

  it('query form: the AWS example verifies until Expires', async () => {
    const r = await authenticate(
      makeInput('GET', presigned, [['Host', 'johnsmith.s3.amazonaws.com']], undefined, 'johnsmith'),
      at('2007-03-28T00:00:00Z'),
    );
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
    const err = await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', presigned, [['Host', 'johnsmith.s3.amazonaws.com']], undefined, 'johnsmith'),
          at('2007-03-29T03:40:21Z'),
        ),
      'AccessDenied',
    );
    assert.equal(err.message, 'Request has expired');
    assert.equal(err.extra.Expires, '2007-03-29T03:40:20Z');
  });

  it('query form: a changed Expires or missing parameter is refused', async () => {
    await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', presigned.replace('1175139620', '1175139621'), [], undefined, 'johnsmith'),
          at('2007-03-28T00:00:00Z'),
        ),
      'SignatureDoesNotMatch',
    );
    await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', presigned.replace('&Expires=1175139620', ''), [], undefined, 'johnsmith'),
          at('2007-03-28T00:00:00Z'),
        ),
      'AccessDenied',
    );
  });

  it('sub-resources with values are signed decoded and sorted; other parameters are not', async () => {
    const now = new Date('2024-05-01T10:00:00Z');
    const date = now.toUTCString();
    const stringToSign = `PUT\n\n\n${date}\n/bucket/my%20key?partNumber=2&uploadId=a/b+c`;
    const headers: HeaderList = [
      ['Host', 'localhost'],
      ['Date', date],
      [
        'Authorization',
        `AWS ${EXAMPLE_KEY.accessKeyId}:${signV2(EXAMPLE_KEY.secretAccessKey, stringToSign)}`,
      ],
      ['Content-Length', '0'],
    ];
    await authenticate(
      makeInput('PUT', '/bucket/my%20key?uploadId=a%2Fb%2Bc&partNumber=2&x-id=UploadPart', headers),
      exampleConfig({ now: () => now }),
    );
  });

  it('a sub-resource sent as `uploads=` verifies signed bare (Go clients) or as sent (botocore)', async () => {
    const now = new Date('2024-05-01T10:00:00Z');
    const date = now.toUTCString();
    for (const resource of ['/bucket?uploads', '/bucket?uploads=']) {
      const headers: HeaderList = [
        ['Host', 'localhost'],
        ['Date', date],
        [
          'Authorization',
          `AWS ${EXAMPLE_KEY.accessKeyId}:${signV2(EXAMPLE_KEY.secretAccessKey, `GET\n\n\n${date}\n${resource}`)}`,
        ],
      ];
      await authenticate(
        makeInput('GET', '/bucket?max-uploads=1000&prefix=&uploads=', headers),
        exampleConfig({ now: () => now }),
      );
    }
    // A bare `?uploads` on the wire is signed bare only.
    const wrong = `GET\n\n\n${date}\n/bucket?uploads=`;
    await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', '/bucket?uploads', [
            ['Host', 'localhost'],
            ['Date', date],
            ['Authorization', `AWS ${EXAMPLE_KEY.accessKeyId}:${signV2(EXAMPLE_KEY.secretAccessKey, wrong)}`],
          ]),
          exampleConfig({ now: () => now }),
        ),
      'SignatureDoesNotMatch',
    );
  });
});
