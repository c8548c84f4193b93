import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Pixels } from './picture.ts';

const SIGNATURE_LENGTH = 8;
/** IHDR is always the first chunk and 13 bytes long: 4 length + 4 type + 13 + 4 CRC. */
const IHDR_END = SIGNATURE_LENGTH + 25;

/**
 * Encodes pixels as an RGB PNG with text chunks, e.g. `{ parameters: infotext }` as A1111
 * writes it. pngjs does not write text chunks, so they are spliced in after IHDR.
 */
export function encodePng(pixels: Pixels, text: Record<string, string> = {}): Buffer {
  const png = new PNG({ width: pixels.width, height: pixels.height });
  pixels.data.copy(png.data);
  // Colour type 2 (RGB): the pictures are opaque, and a quarter smaller without alpha.
  const encoded = PNG.sync.write(png, { colorType: 2, inputHasAlpha: true, filterType: 4 });
  const chunks = Object.entries(text).map(([key, value]) => textChunk(key, value));
  return Buffer.concat([encoded.subarray(0, IHDR_END), ...chunks, encoded.subarray(IHDR_END)]);
}

/**
 * The tEXt and iTXt chunks of a PNG, by keyword. Reads what `encodePng` and A1111 (PIL)
 * write: uncompressed text only.
 */
export function readPngText(png: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let offset = SIGNATURE_LENGTH;
  while (offset + 8 <= png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) {
      out[data.toString('latin1', 0, nul)] = data.toString('latin1', nul + 1);
    } else if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      // keyword \0 compression-flag compression-method language \0 translated-keyword \0 text
      const langEnd = data.indexOf(0, nul + 3);
      const transEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
      if (transEnd >= 0) out[data.toString('latin1', 0, nul)] = data.toString('utf8', transEnd + 1);
    }
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  return out;
}

/** tEXt when the text is Latin-1, iTXt (UTF-8) otherwise, as PIL's `PngInfo.add_text` does. */
function textChunk(key: string, value: string): Buffer {
  // eslint-disable-next-line no-control-regex
  const latin1 = /^[\u0000-\u00ff]*$/.test(value);
  const data = latin1
    ? Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(value, 'latin1')])
    : Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value, 'utf8')]);
  const type = Buffer.from(latin1 ? 'tEXt' : 'iTXt', 'latin1');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, data])));
  return Buffer.concat([head, type, data, crc]);
}
