/**
 * Identity header encoding (docs/architecture.md "Identity"): whatever a provider puts in a claim, the
 * header gatehouse sends is printable ASCII, so CR/LF can never split it (header injection,
 * CWE-113) and no upstream framework reads the bytes in another charset; and what the encoder
 * produced, the decoder (used for trusted pre-authentication headers) reads back unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHeaderList,
  decodeHeaderValue,
  encodeHeaderList,
  encodeHeaderValue,
  stripControlCharacters,
} from '../../src/identity/header-value.ts';
import { runs, timeoutFor } from './runs.ts';

const CASES = runs();
const printableAscii = /^[\x20-\x7e]*$/;

/** Claim values: any UTF-16 (lone surrogates included), real Unicode text, and tricky ASCII. */
const claim = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({
    unit: fc.constantFrom(
      'a',
      ' ',
      ',',
      '{',
      '}',
      'b',
      'a',
      's',
      'e',
      '6',
      '4',
      '=',
      '\r',
      '\n',
      '\0',
    ),
    maxLength: 30,
  }),
  fc.constantFrom('{base64}YWRtaW4=', '{BASE64}', ' admin', 'admin ', 'a,b', '\u2028', 'Zoë'),
);

/** Values the decoder must restore exactly: well-formed Unicode without control characters. */
const restorable = claim.filter(
  (value) => value.isWellFormed() && stripControlCharacters(value) === value,
);

describe('identity header encoding (property)', () => {
  it(
    `always yields printable ASCII, for one value and for lists (${String(CASES)} cases each)`,
    () => {
      fc.assert(
        fc.property(claim, (value) => {
          expect(encodeHeaderValue(value)).toMatch(printableAscii);
        }),
        { numRuns: CASES },
      );
      fc.assert(
        fc.property(fc.array(claim, { maxLength: 10 }), (values) => {
          expect(encodeHeaderList(values)).toMatch(printableAscii);
        }),
        { numRuns: CASES },
      );
    },
    timeoutFor(2 * CASES),
  );

  it(
    `round-trips every value without control characters, alone and in lists (${String(CASES)} cases each)`,
    () => {
      fc.assert(
        fc.property(restorable, (value) => {
          expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
        }),
        { numRuns: CASES },
      );
      fc.assert(
        fc.property(fc.array(restorable, { maxLength: 10 }), (values) => {
          // Empty elements carry nothing and are left out of lists by design.
          expect(decodeHeaderList(encodeHeaderList(values))).toEqual(
            values.filter((value) => value !== ''),
          );
        }),
        { numRuns: CASES },
      );
    },
    timeoutFor(2 * CASES),
  );

  it(
    `decodes forged input to null or to a value without control characters, never throws (${String(CASES)} cases)`,
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            claim,
            fc.string({ unit: 'binary', maxLength: 60 }).map((text) => `{base64}${text}`),
            fc
              .uint8Array({ maxLength: 40 })
              .map((bytes) => `{base64}${Buffer.from(bytes).toString('base64')}`),
          ),
          (forged) => {
            const decoded = decodeHeaderValue(forged);
            if (decoded !== null) expect(stripControlCharacters(decoded)).toBe(decoded);
            const list = decodeHeaderList(forged);
            if (list !== null)
              for (const item of list) expect(stripControlCharacters(item)).toBe(item);
          },
        ),
        { numRuns: CASES },
      );
    },
    timeoutFor(CASES),
  );
});
