import { OID_UPN } from '../../../shared/crypto/csr';
import {
  isOtherNameAttribute,
  normaliseAttributeName,
  otherNameTypeOf,
  sanAttributeKind,
  subjectAttributeKind,
  subjectFieldsOf,
  type SanAttributeKind,
  type SubjectShortName,
} from '../../../shared/mapping/attributeKinds';
import { GUID_OID, attribute } from './fixtures';

describe('normaliseAttributeName', () => {
  it.each([
    ['CN', 'cn'],
    ['Common Name', 'commonname'],
    ['e-mail_address', 'emailaddress'],
    ['OID.2.5.4.3', '2.5.4.3'],
    ['oid.1.2.840.113549.1.9.1', '1.2.840.113549.1.9.1'],
    ['oidName', 'oidname'],
  ])('%p → %p', (name, expected) => {
    expect(normaliseAttributeName(name)).toBe(expected);
  });
});

describe('subjectAttributeKind: one table for every spelling', () => {
  const table: [SubjectShortName, string[]][] = [
    ['CN', ['cn', 'CN', 'commonName', 'common_name', 'Common Name', '2.5.4.3', 'OID.2.5.4.3']],
    ['E', ['e', 'E', 'email', 'E-Mail', 'emailAddress', 'email_address', 'mail', '1.2.840.113549.1.9.1']],
    ['O', ['o', 'organization', 'Organization Name', 'organizationName', '2.5.4.10']],
    ['OU', ['ou', 'organizationalUnit', 'organizational_unit_name', 'Organizational Unit Name', '2.5.4.11']],
    ['C', ['c', 'country', 'countryName', 'Country Name', '2.5.4.6']],
    ['L', ['l', 'locality', 'localityName', '2.5.4.7']],
    [
      'ST',
      ['st', 's', 'state', 'stateOrProvince', 'stateOrProvinceName', 'State or Province Name', '2.5.4.8'],
    ],
  ];
  const cases = table.flatMap(([kind, names]) =>
    names.map((name): [string, SubjectShortName] => [name, kind]),
  );
  it.each(cases)('%p → %s', (name, kind) => {
    expect(subjectAttributeKind(name)).toBe(kind);
  });

  it.each(['serialNumber', 'mail_firstName', 'title', '2.5.4.5', 'rfc822Name', ''])(
    '%p → undefined',
    (name) => {
      expect(subjectAttributeKind(name)).toBeUndefined();
    },
  );
});

describe('sanAttributeKind: one table for every spelling', () => {
  const table: [SanAttributeKind, string[]][] = [
    ['email', ['rfc822Name', 'RFC822', 'rfc822_name', 'email', 'E-mail', 'mail', 'emailAddress']],
    [
      'upn',
      [
        'otherNameUPN',
        'othername_upn',
        'upn',
        'UPN',
        'userPrincipalName',
        'User Principal Name',
        'msUPN',
        'ms-upn',
        'principalName',
        'principal_name',
      ],
    ],
    ['otherName', ['otherName', 'othername', 'Other Name', 'other_name']],
    ['dns', ['dNSName', 'dns_name', 'DNS']],
  ];
  const cases = table.flatMap(([kind, names]) =>
    names.map((name): [string, SanAttributeKind] => [name, kind]),
  );
  it.each(cases)('%p → %s', (attributeName, kind) => {
    expect(sanAttributeKind({ attributeName })).toBe(kind);
  });

  it.each<[string, string | undefined, SanAttributeKind | undefined]>([
    ['otherName', OID_UPN, 'upn'],
    ['Other_Name', ` ${OID_UPN} `, 'upn'],
    ['otherName', GUID_OID, 'otherName'],
    ['otherName', 'VT_UTF8_STRING', 'otherName'],
    // The type only matters on an otherName field.
    ['rfc822Name', OID_UPN, 'email'],
    ['iPAddress', undefined, undefined],
    ['additional_field4', undefined, undefined],
  ])('%p with type %p → %p', (attributeName, type, kind) => {
    expect(sanAttributeKind(type === undefined ? { attributeName } : { attributeName, type })).toBe(kind);
  });

  it('otherNameTypeOf reads the type OID of otherName fields only', () => {
    expect(otherNameTypeOf({ attributeName: 'other_name', type: GUID_OID })).toBe(GUID_OID);
    expect(otherNameTypeOf({ attributeName: 'otherName', type: 'VT_UTF8_STRING' })).toBeUndefined();
    expect(otherNameTypeOf({ attributeName: 'upn', type: GUID_OID })).toBeUndefined();
    expect(isOtherNameAttribute('Other Name')).toBe(true);
    expect(isOtherNameAttribute('otherNameUPN')).toBe(false);
  });
});

describe('subjectFieldsOf', () => {
  it('joins consecutive cn attributes into one CN; other attributes stay one field each', () => {
    const fields = subjectFieldsOf([
      attribute('cn', '$mail_firstName', true),
      attribute('commonName', '$mail_lastName', true),
      attribute('ou', 'IT', true),
      attribute('ou', 'Devices', true),
      attribute('serialNumber', '$serial', false),
      attribute('cn', '$other', false),
    ]);
    expect(fields.map((field) => [field.shortName, field.attributes.map((entry) => entry.value)])).toEqual([
      ['CN', ['$mail_firstName', '$mail_lastName']],
      ['OU', ['IT']],
      ['OU', ['Devices']],
      [undefined, ['$serial']],
      ['CN', ['$other']],
    ]);
  });
});
