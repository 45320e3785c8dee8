import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePng, distinctColours } from './png.ts';

/** A PNG chunk: length, type, data, CRC of type + data. */
function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/**
 * Encodes `rows` (already filtered: each row starts with its filter byte) as an 8-bit PNG. The
 * filtering is written out by hand per test so the decoder is checked against known bytes.
 */
function encode(width: number, colourType: number, filteredRows: number[][], idatParts = 1) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(filteredRows.length, 4);
  header.writeUInt8(8, 8);
  header.writeUInt8(colourType, 9);
  const compressed = deflateSync(Buffer.from(filteredRows.flat()));
  const size = Math.ceil(compressed.length / idatParts);
  const idats = Array.from({ length: idatParts }, (_, i) =>
    chunk('IDAT', compressed.subarray(i * size, (i + 1) * size)),
  );
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    ...idats,
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodePng', () => {
  it('reads unfiltered RGB pixels, with the image data split over several IDAT chunks', () => {
    const png = encode(
      2,
      2,
      [
        [0, 255, 0, 0, 0, 255, 0],
        [0, 0, 0, 255, 10, 20, 30],
      ],
      3,
    );
    const image = decodePng(png);
    expect(image).toMatchObject({ width: 2, height: 2, channels: 3 });
    expect([...image.pixels]).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
  });

  it('reverses the Sub, Up, Average and Paeth filters (greyscale, one byte per pixel)', () => {
    // Wanted pixels: row 0 = 10 20 30, row 1 = 15 25 40, row 2 = 20 20 20, row 3 = 1 2 3.
    const image = decodePng(
      encode(3, 0, [
        [1, 10, 10, 10], // Sub: each byte adds the one to its left
        [2, 5, 5, 10], // Up: each byte adds the one above
        [3, 20 - 7, (20 - 22) & 0xff, (20 - 30) & 0xff], // Average: floor((left + above) / 2)
        // Paeth: predictors 20 (above; left is 0), then 1 and 2 (left wins over above-left).
        [4, (1 - 20) & 0xff, 1, 1],
      ]),
    );
    expect([...image.pixels]).toEqual([10, 20, 30, 15, 25, 40, 20, 20, 20, 1, 2, 3]);
  });

  it('refuses a corrupted file instead of returning wrong pixels', () => {
    const png = encode(1, 0, [[0, 7]]);
    const inIdat = png.length - 20; // IEND is the last 12 bytes, the IDAT CRC the 4 before
    png.writeUInt8(png.readUInt8(inIdat) ^ 0xff, inIdat);
    expect(() => decodePng(png)).toThrow(/bad CRC/);
    expect(() => decodePng(Buffer.from('GIF89a'))).toThrow(/not a PNG/);
  });

  it('refuses formats Chromium does not write rather than misreading them', () => {
    expect(() => decodePng(encode(1, 3, [[0, 0]]))).toThrow(/unsupported PNG: colour type 3/);
  });
});

describe('distinctColours', () => {
  it('is 1 for a blank image and counts each RGBA colour once', () => {
    const blank = decodePng(encode(2, 6, [[0, ...Array<number>(8).fill(255)]]));
    expect(distinctColours(blank)).toBe(1);
    const twoColours = decodePng(
      encode(3, 6, [[0, 255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 255]]),
    );
    expect(distinctColours(twoColours)).toBe(2);
  });
});
