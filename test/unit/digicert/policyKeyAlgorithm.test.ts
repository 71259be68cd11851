/**
 * privateKeyAttributes/algorithmOIDReference read from a getPoliciesResponse: resolved through oIDs to an
 * OID and a name, tolerantly, under both readings (the key algorithm or the signature algorithm). The team's
 * samples name sha256RSA.
 */
import { readFileSync } from 'node:fs';
import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { parseGetPoliciesResponse } from '../../../shared/digicert/policy';
import { parseSoapAnswer } from '../../../shared/digicert/soap';
import { describeWithTeamShared, teamSharedPath } from '../../support/teamShared';

const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010006';
const context: CallContext = {
  operation: 'getPolicies',
  caHost: 'ca.fabrikam.test',
  service: 'policyService',
};

/** An answer whose one policy has `keyAttributes` inside privateKeyAttributes and `oids` in its OID table. */
function policyWithKey(keyAttributes: string, oids = '', prefix = 'p') {
  const p = prefix === '' ? '' : `${prefix}:`;
  const answer = parseSoapAnswer(
    `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
      `<${p}getPoliciesResponse${prefix === '' ? '' : ` xmlns:${prefix}="urn:test"`}><${p}response><${p}policies><${p}policy>` +
      `<${p}policyOIDReference>1</${p}policyOIDReference><${p}attributes>` +
      `<${p}privateKeyAttributes>${keyAttributes}</${p}privateKeyAttributes>` +
      `</${p}attributes></${p}policy></${p}policies></${p}response><${p}oIDs>` +
      `<${p}oID><${p}value>${PROFILE}</${p}value><${p}oIDReferenceID>1</${p}oIDReferenceID></${p}oID>` +
      `${oids}</${p}oIDs></${p}getPoliciesResponse></s:Body></s:Envelope>`,
  );
  return parseGetPoliciesResponse(answer.body, PROFILE, { ...context, profileOid: PROFILE });
}

const oid = (value: string, reference: string, name?: string) =>
  `<p:oID><p:value>${value}</p:value><p:oIDReferenceID>${reference}</p:oIDReferenceID><p:group>4</p:group>` +
  `${name === undefined ? '' : `<p:defaultName>${name}</p:defaultName>`}</p:oID>`;
const keyAttributes = (keysize: string | undefined, reference: string) =>
  `${keysize === undefined ? '' : `<p:keysize>${keysize}</p:keysize>`}<p:keyexportable>true</p:keyexportable>` +
  `<p:algorithmOIDReference>${reference}</p:algorithmOIDReference>`;

describe('algorithmOIDReference in the policy', () => {
  it.each([
    ['id-ecPublicKey (the key reading)', '1.2.840.10045.2.1', 'ECC'],
    ['ecdsa-with-SHA256 (the signature reading)', '1.2.840.10045.4.3.2', 'sha256ECDSA'],
    ['sha256RSA (the samples)', '1.2.840.113549.1.1.11', 'sha256RSA'],
  ])('resolves %s through oIDs to its OID and name', (_reading, value, name) => {
    const policy = policyWithKey(keyAttributes('256', '7'), oid(value, '7', name));
    expect(policy.keyAlgorithm).toEqual({ oid: value, name });
    expect(policy.keySize).toBe(256);
  });

  it('is read tolerantly: a zero-padded reference, the OID in place of the reference, a name without OID', () => {
    expect(policyWithKey(keyAttributes('256', '07'), oid('1.2.840.10045.2.1', '7')).keyAlgorithm).toEqual({
      oid: '1.2.840.10045.2.1',
    });
    expect(policyWithKey(keyAttributes(undefined, 'urn:oid:1.2.840.10045.4.3.2')).keyAlgorithm).toEqual({
      oid: '1.2.840.10045.4.3.2',
    });
    expect(
      policyWithKey(
        keyAttributes('256', '8'),
        '<p:oID><p:oIDReferenceID>8</p:oIDReferenceID><p:defaultName>ECDSA_P256</p:defaultName></p:oID>',
      ).keyAlgorithm,
    ).toEqual({ name: 'ECDSA_P256' });
  });

  it('has no algorithm when the reference is nil, empty or resolves to nothing', () => {
    const nil =
      '<p:keysize>2048</p:keysize><p:algorithmOIDReference xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>';
    expect(policyWithKey(nil).keyAlgorithm).toBeUndefined();
    expect(policyWithKey(keyAttributes('2048', '')).keyAlgorithm).toBeUndefined();
    expect(policyWithKey(keyAttributes('2048', '42')).keyAlgorithm).toBeUndefined();
    expect(policyWithKey('<p:keysize>2048</p:keysize>').keyAlgorithm).toBeUndefined();
  });
});

describeWithTeamShared('the reference samples', () => {
  it.each([
    ['getPoliciesResponse.xml', '2.16.840.1.113733.1.16.1.2.3.1.1.47196109'],
    ['getPoliciesResponse-sid.xml', '2.16.840.1.113733.1.16.1.2.3.1.1.47196110'],
  ])('%s names sha256RSA', (name, profileOid) => {
    const text = readFileSync(teamSharedPath('reference', 'samples', name), 'utf8');
    const policy = parseGetPoliciesResponse(parseSoapAnswer(text).body, profileOid, context);
    expect(policy.keyAlgorithm).toEqual({ oid: '1.2.840.113549.1.1.11', name: 'sha256RSA' });
  });
});
