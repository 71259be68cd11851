/**
 * Reads the SID of strong certificate mapping back out of a certificate or CSR with `openssl asn1parse`: finds
 * the extension 1.3.6.1.4.1.311.25.2, parses its value (`-strparse`) and returns the OCTET STRING's text of
 * the otherName 1.3.6.1.4.1.311.25.2.1 inside it, or undefined when the extension is absent. OpenSSL, not our
 * DER code, decides what the bytes say.
 */
import { spawnSync } from 'node:child_process';

function asn1parse(args: string[]): string {
  const result = spawnSync('openssl', ['asn1parse', ...args], { encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`openssl asn1parse ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export function sidReadByOpenssl(file: string, inform: 'DER' | 'PEM'): string | undefined {
  const lines = asn1parse(['-inform', inform, '-in', file]).split('\n');
  const oidLine = lines.findIndex((line) => /OBJECT\s+:1\.3\.6\.1\.4\.1\.311\.25\.2$/.test(line));
  if (oidLine < 0) return undefined;
  // After the OID comes the extnValue OCTET STRING (a BOOLEAN first, if the extension is critical).
  const valueLine = lines.slice(oidLine + 1).find((line) => /OCTET STRING/.test(line));
  const offset = /^\s*(\d+):/.exec(valueLine ?? '')?.[1];
  if (offset === undefined) throw new Error('openssl shows the SID extension without a value');
  const inner = asn1parse(['-inform', inform, '-in', file, '-strparse', offset]);
  // SEQUENCE { [0] { OID 1.3.6.1.4.1.311.25.2.1, [0] { OCTET STRING } } }, as MS-WCCE 2.2.2.7.7.4 has it.
  const layout =
    /^\s*0:d=0.*cons: SEQUENCE\s*\n.*d=1.*cons:\s+cont \[ 0 \]\s*\n.*d=2.*prim:\s+OBJECT\s+:1\.3\.6\.1\.4\.1\.311\.25\.2\.1\s*\n.*d=2.*cons:\s+cont \[ 0 \]\s*\n.*d=3.*prim:\s+OCTET STRING\s+:(\S+)\s*$/.exec(
      inner.trim(),
    );
  if (layout === null) throw new Error(`the SID extension's value is not laid out per MS-WCCE:\n${inner}`);
  return layout[1];
}
