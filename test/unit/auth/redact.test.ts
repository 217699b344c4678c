import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, redactAuthorization, redactUrl } from '../../../src/auth/redact.js';

describe('redaction for logs', () => {
  it('hides all but a short prefix of long values and all of short ones', () => {
    assert.equal(redact('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), 'wJal***');
    assert.equal(redact('short'), '***');
    assert.equal(redact(undefined), '');
  });

  it('hides signatures in Authorization headers and URLs', () => {
    const v4 =
      'AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
    assert.equal(redactAuthorization(v4), v4.replace(/Signature=.*/, 'Signature=***'));
    assert.equal(redactAuthorization('AWS AKID:bWq2s1WEIj+Ydj0vQ697zp+IXMU='), 'AWS AKID:***');
    assert.equal(redactAuthorization('Bearer token'), '***');
    assert.equal(
      redactUrl('/b/k?X-Amz-Credential=AKID%2Fx&X-Amz-Signature=abc&Signature=def&x=1'),
      '/b/k?X-Amz-Credential=AKID%2Fx&X-Amz-Signature=***&Signature=***&x=1',
    );
    assert.equal(redactUrl('/b/k'), '/b/k');
  });
});
