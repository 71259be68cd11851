import { BrokerError } from '../contract/errors';
import { DerError, parseStrictDer, type DerNode } from '../der';
import { describeCharacter } from './text';

/**
 * An otherName value from the request: hexadecimal of a DER encoding, as the seed's example
 * "04 12 b8 ba 65 41 f2 d4 07 41 a9 f7 47 08 f3 e4 28 5c ef 2c" (an OCTET STRING). DigiCert takes it base64
 * encoded. Unlike the Intune connector, which base64-encodes whatever it gets, the broker checks first.
 */
export interface OtherNameValue {
  /** The DER bytes (what goes inside the otherName's [0] EXPLICIT). */
  der: Buffer;
  /** base64 of `der`: the value sent to the CA. */
  base64: string;
  node: DerNode;
}

function invalid(field: string, problem: string): BrokerError {
  return new BrokerError('OTHERNAME_INVALID', `${field}: the otherName value ${problem}.`);
}

const SEPARATOR = /[\s:]/u;
const HEX_DIGIT = /^[0-9A-Fa-f]$/u;

/**
 * Decodes hex with optional spaces or colons between bytes. Each run of digits between separators must hold
 * whole bytes, so a separator inside a byte ("0 4") is an odd-length group. Positions count characters from 1.
 */
export function derFromHex(text: string, field: string): Buffer {
  const bytes: number[] = [];
  let groupStart = -1;
  let group = '';
  const closeGroup = (): void => {
    if (group === '') return;
    if (group.length % 2 !== 0) {
      throw invalid(
        field,
        `has an odd number of hex digits (${group.length}) in the group starting at character ${groupStart + 1}; each byte needs two digits`,
      );
    }
    for (let index = 0; index < group.length; index += 2)
      bytes.push(Number.parseInt(group.slice(index, index + 2), 16));
    group = '';
  };

  for (let index = 0; index < text.length; index++) {
    const character = text[index] as string;
    if (SEPARATOR.test(character)) {
      closeGroup();
      continue;
    }
    if (!HEX_DIGIT.test(character)) {
      throw invalid(
        field,
        `is not hexadecimal: non-hex character ${describeCharacter(text, index)} at character ${index + 1}`,
      );
    }
    if (group === '') groupStart = index;
    group += character;
  }
  closeGroup();
  if (bytes.length === 0) throw invalid(field, 'is empty');
  return Buffer.from(bytes);
}

/** Hex → DER bytes, checked to be exactly one well-formed DER TLV; `field` names the request field in errors. */
export function parseOtherNameHex(text: string, field: string): OtherNameValue {
  const der = derFromHex(text, field);
  let node: DerNode;
  try {
    node = parseStrictDer(der);
  } catch (error) {
    if (error instanceof DerError) throw invalid(field, `is not well-formed DER: ${error.message}`);
    throw error;
  }
  return { der, base64: der.toString('base64'), node };
}
