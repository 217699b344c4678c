/** The AccessControlPolicy document: the owner-only response (golden) and the request parser. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { S3Error } from '../../../src/s3/errors.js';
import { ownerOnlyAclXml, parseAccessControlPolicy } from '../../../src/s3/xml/acl.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

function policy(
  grants: string,
  owner = '<Owner><ID>s3local</ID><DisplayName>s3local</DisplayName></Owner>',
): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `${owner}<AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`,
  );
}

const ownerGrant = (permission = 'FULL_CONTROL', id = 's3local') =>
  `<Grant><Grantee ${XSI} xsi:type="CanonicalUser"><ID>${id}</ID></Grantee><Permission>${permission}</Permission></Grant>`;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, String(err));
    return err.code;
  }
  assert.fail('expected an S3Error');
}

describe('AccessControlPolicy', () => {
  it('answers the owner with FULL_CONTROL, the grantee typed with xsi:type (golden)', () => {
    assert.equal(
      ownerOnlyAclXml(),
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Owner><ID>s3local</ID><DisplayName>s3local</DisplayName></Owner>' +
        '<AccessControlList><Grant>' +
        `<Grantee ${XSI} xsi:type="CanonicalUser"><ID>s3local</ID><DisplayName>s3local</DisplayName></Grantee>` +
        '<Permission>FULL_CONTROL</Permission>' +
        '</Grant></AccessControlList></AccessControlPolicy>',
    );
  });

  it('reads back the document it answers', () => {
    assert.deepEqual(parseAccessControlPolicy(Buffer.from(ownerOnlyAclXml())), {
      ownerId: 's3local',
      grants: [{ grantee: { type: 'CanonicalUser', id: 's3local' }, permission: 'FULL_CONTROL' }],
    });
  });

  it('reads every grantee type and several grants', () => {
    const doc = policy(
      ownerGrant('READ') +
        `<Grant><Grantee ${XSI} xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>` +
        `<Grant><Grantee ${XSI} xsi:type="AmazonCustomerByEmail"><EmailAddress>a@example.test</EmailAddress></Grantee><Permission>WRITE_ACP</Permission></Grant>`,
    );
    assert.deepEqual(parseAccessControlPolicy(doc).grants, [
      { grantee: { type: 'CanonicalUser', id: 's3local' }, permission: 'READ' },
      {
        grantee: { type: 'Group', uri: 'http://acs.amazonaws.com/groups/global/AllUsers' },
        permission: 'READ',
      },
      { grantee: { type: 'AmazonCustomerByEmail', emailAddress: 'a@example.test' }, permission: 'WRITE_ACP' },
    ]);
  });

  it('reads an empty grant list as no grants', () => {
    assert.deepEqual(parseAccessControlPolicy(policy('')).grants, []);
  });

  it('refuses what does not validate with MalformedACLError', () => {
    const cases: Array<[string, Buffer]> = [
      ['empty', Buffer.from('')],
      ['not XML', Buffer.from('not xml at all')],
      ['unclosed', Buffer.from('<AccessControlPolicy><Owner><ID>s3local</ID></Owner>')],
      ['another root', Buffer.from('<Tagging><TagSet/></Tagging>')],
      [
        'no owner',
        Buffer.from(
          `<AccessControlPolicy><AccessControlList>${ownerGrant()}</AccessControlList></AccessControlPolicy>`,
        ),
      ],
      ['owner without ID', policy(ownerGrant(), '<Owner><DisplayName>x</DisplayName></Owner>')],
      ['unknown permission', policy(ownerGrant('EVERYTHING'))],
      [
        'no permission',
        policy(`<Grant><Grantee ${XSI} xsi:type="CanonicalUser"><ID>s3local</ID></Grantee></Grant>`),
      ],
      ['no grantee', policy('<Grant><Permission>READ</Permission></Grant>')],
      [
        'grantee without xsi:type',
        policy('<Grant><Grantee><ID>s3local</ID></Grantee><Permission>READ</Permission></Grant>'),
      ],
      [
        'unknown xsi:type',
        policy(
          `<Grant><Grantee ${XSI} xsi:type="Robot"><ID>x</ID></Grantee><Permission>READ</Permission></Grant>`,
        ),
      ],
      [
        'canonical user without ID',
        policy(`<Grant><Grantee ${XSI} xsi:type="CanonicalUser"/><Permission>READ</Permission></Grant>`),
      ],
      [
        'group without URI',
        policy(
          `<Grant><Grantee ${XSI} xsi:type="Group"><ID>x</ID></Grantee><Permission>READ</Permission></Grant>`,
        ),
      ],
      ['two owners', policy(ownerGrant(), '<Owner><ID>a</ID></Owner><Owner><ID>b</ID></Owner>')],
    ];
    for (const [name, body] of cases)
      assert.equal(
        code(() => parseAccessControlPolicy(body)),
        'MalformedACLError',
        name,
      );
  });

  it('refuses a group S3 does not define with InvalidArgument', () => {
    const doc = policy(
      `<Grant><Grantee ${XSI} xsi:type="Group"><URI>http://acs.amazonaws.com/groups/s3/FakeGroup</URI></Grantee><Permission>READ</Permission></Grant>`,
    );
    assert.equal(
      code(() => parseAccessControlPolicy(doc)),
      'InvalidArgument',
    );
  });

  it('expands no entity beyond the XML built-ins', () => {
    const xxe = Buffer.from(
      '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
        `<AccessControlPolicy><Owner><ID>&x;</ID></Owner><AccessControlList>${ownerGrant()}</AccessControlList></AccessControlPolicy>`,
    );
    let owner: string | undefined;
    try {
      owner = parseAccessControlPolicy(xxe).ownerId;
    } catch (err) {
      assert.ok(err instanceof S3Error && err.code === 'MalformedACLError', String(err));
    }
    assert.ok(owner === undefined || !owner.includes('root:'), owner);
  });
});
