/**
 * Just enough of a PNG reader (ISO/IEC 15948, W3C PNG 2nd ed.) to tell a real screenshot from a
 * blank one without a new dependency: chunks with their CRCs, zlib-compressed IDAT, the five
 * scanline filters. Only what Chromium writes is supported (8-bit greyscale/RGB with or without
 * alpha, not interlaced); anything else is refused loudly rather than misread.
 */
import { crc32, inflateSync } from 'node:zlib';

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** Bytes per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  readonly channels: number;
  /** Unfiltered rows, `width * channels` bytes each, top to bottom. */
  readonly pixels: Uint8Array;
}

const signature = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Channels per colour type (PNG §11.2.2); palette (3) is not supported. */
const channelsByColourType = new Map([
  [0, 1],
  [2, 3],
  [4, 2],
  [6, 4],
]);

export function decodePng(data: Uint8Array): DecodedPng {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < signature.length || !bytes.subarray(0, 8).equals(signature)) {
    throw new Error('not a PNG: the signature is missing');
  }
  let header: { width: number; height: number; channels: number } | undefined;
  const compressed: Buffer[] = [];
  let offset = 8;
  for (;;) {
    if (offset + 12 > bytes.length) throw new Error('truncated PNG: no IEND chunk');
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const end = offset + 8 + length;
    if (end + 4 > bytes.length) throw new Error(`truncated PNG: ${type} chunk runs past the end`);
    // The CRC covers type and data (PNG §5.3), so a corrupted file fails here, not later.
    if (crc32(bytes.subarray(offset + 4, end)) !== bytes.readUInt32BE(end)) {
      throw new Error(`corrupt PNG: bad CRC in the ${type} chunk`);
    }
    const body = bytes.subarray(offset + 8, end);
    if (type === 'IHDR') header = readHeader(body);
    else if (type === 'IDAT') compressed.push(body);
    else if (type === 'IEND') break;
    offset = end + 4;
  }
  if (header === undefined) throw new Error('invalid PNG: no IHDR chunk');
  const { width, height, channels } = header;
  const stride = width * channels;
  const filtered = inflateSync(Buffer.concat(compressed));
  if (filtered.length !== height * (stride + 1)) {
    throw new Error(
      `invalid PNG: ${String(filtered.length)} bytes of scanlines for ${String(width)}x${String(height)}`,
    );
  }
  return { width, height, channels, pixels: unfilter(filtered, height, stride, channels) };
}

function readHeader(body: Buffer): { width: number; height: number; channels: number } {
  const width = body.readUInt32BE(0);
  const height = body.readUInt32BE(4);
  const bitDepth = body.readUInt8(8);
  const colourType = body.readUInt8(9);
  const interlace = body.readUInt8(12);
  const channels = channelsByColourType.get(colourType);
  if (channels === undefined || bitDepth !== 8 || interlace !== 0) {
    throw new Error(
      `unsupported PNG: colour type ${String(colourType)}, bit depth ${String(bitDepth)}, interlace ${String(interlace)} (8-bit non-interlaced grey/RGB only)`,
    );
  }
  if (width === 0 || height === 0) throw new Error('invalid PNG: empty image');
  return { width, height, channels };
}

/** Reverses the per-row filters (PNG §9.2); `a` left, `b` above, `c` above-left. */
function unfilter(filtered: Buffer, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let row = 0; row < height; row++) {
    const type = filtered[row * (stride + 1)];
    const source = row * (stride + 1) + 1;
    const target = row * stride;
    for (let i = 0; i < stride; i++) {
      const x = filtered[source + i] ?? 0;
      const a = i >= bpp ? (out[target + i - bpp] ?? 0) : 0;
      const b = row > 0 ? (out[target - stride + i] ?? 0) : 0;
      const c = row > 0 && i >= bpp ? (out[target - stride + i - bpp] ?? 0) : 0;
      let predictor: number;
      switch (type) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) >> 1;
          break;
        case 4:
          predictor = paeth(a, b, c);
          break;
        default:
          throw new Error(`invalid PNG: unknown filter type ${String(type)} on row ${String(row)}`);
      }
      out[target + i] = (x + predictor) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/**
 * How many different colours the image holds, counting up to `limit` (a blank page has one).
 * Every pixel is looked at: a page of white with one line of text is mostly one colour.
 */
export function distinctColours(image: DecodedPng, limit = 1000): number {
  const seen = new Set<number>();
  const { pixels, channels } = image;
  for (let i = 0; i < pixels.length && seen.size < limit; i += channels) {
    let colour = 0;
    for (let k = 0; k < channels; k++) colour = colour * 256 + (pixels[i + k] ?? 0);
    seen.add(colour);
  }
  return seen.size;
}
