// IDX, the format MNIST and its relatives ship in (http://yann.lecun.com/exdb/mnist/):
//   bytes 0–1  zero
//   byte  2    element type: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
//   byte  3    number of dimensions
//   then one big-endian uint32 per dimension, then the elements, big-endian, row-major.
// Files may be gzipped (`.gz`); gzip is recognised by its magic bytes, not the file name.
// The binary caches of the built-in datasets are IDX files too, so one reader serves both.
import * as fs from 'fs';
import * as zlib from 'zlib';

export type IdxDType = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

const DTYPES: Record<number, { name: IdxDType; size: number }> = {
  0x08: { name: 'ubyte', size: 1 },
  0x09: { name: 'byte', size: 1 },
  0x0b: { name: 'short', size: 2 },
  0x0c: { name: 'int', size: 4 },
  0x0d: { name: 'float', size: 4 },
  0x0e: { name: 'double', size: 8 },
};

export interface IdxHeader {
  dtype: IdxDType;
  /** Bytes per element. */
  elementSize: number;
  dims: number[];
  /** Offset of the first element. */
  headerBytes: number;
  /** prod(dims) · elementSize. */
  dataBytes: number;
}

export interface IdxArray {
  dtype: IdxDType;
  dims: number[];
  /** prod(dims) elements, row-major. For ubyte a view on the file's bytes (no copy). */
  data: IdxData;
}

/** True when the bytes start with the gzip magic 1F 8B. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses the header at the start of (decompressed) IDX bytes. `source` names the file in errors. */
export function parseIdxHeader(bytes: Uint8Array, source = 'IDX data'): IdxHeader {
  if (bytes.length < 4) throw new Error(`${source}: not an IDX file (only ${bytes.length} bytes; the header alone needs at least 4)`);
  const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const magicHex = `0x${magic.toString(16).padStart(8, '0')}`;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file (magic number ${magicHex}; IDX files start with two zero bytes, e.g. 0x00000803 for images, 0x00000801 for labels)`);
  }
  const t = DTYPES[bytes[2]];
  if (!t) throw new Error(`${source}: unknown IDX element type 0x${bytes[2].toString(16).padStart(2, '0')} in magic number ${magicHex} (expected 08 ubyte, 09 byte, 0B short, 0C int, 0D float or 0E double)`);
  const ndims = bytes[3];
  if (ndims < 1) throw new Error(`${source}: IDX magic number ${magicHex} declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw new Error(`${source}: IDX header truncated (${ndims} dimensions need ${headerBytes} header bytes, the file has ${bytes.length})`);
  const dims: number[] = [];
  let elements = 1;
  for (let i = 0; i < ndims; i++) {
    const o = 4 + 4 * i;
    const d = ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>> 0;
    dims.push(d);
    elements *= d;
  }
  return { dtype: t.name, elementSize: t.size, dims, headerBytes, dataBytes: elements * t.size };
}

/** Parses whole (decompressed) IDX bytes; the length must match the header exactly. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  const h = parseIdxHeader(bytes, source);
  const expected = h.headerBytes + h.dataBytes;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new Error(`${source}: IDX file ${what}: header declares ${h.dtype}[${h.dims.join(', ')}] = ${expected} bytes in all, the file has ${bytes.length}`);
  }
  const n = h.dataBytes / h.elementSize;
  const off = bytes.byteOffset + h.headerBytes;
  let data: IdxData;
  switch (h.dtype) {
    case 'ubyte':
      data = new Uint8Array(bytes.buffer, off, n);
      break;
    case 'byte':
      data = new Int8Array(bytes.buffer, off, n);
      break;
    default: {
      // Multi-byte elements are big-endian; copy through a DataView.
      const view = new DataView(bytes.buffer, off, h.dataBytes);
      if (h.dtype === 'short') {
        const a = new Int16Array(n);
        for (let i = 0; i < n; i++) a[i] = view.getInt16(2 * i, false);
        data = a;
      } else if (h.dtype === 'int') {
        const a = new Int32Array(n);
        for (let i = 0; i < n; i++) a[i] = view.getInt32(4 * i, false);
        data = a;
      } else if (h.dtype === 'float') {
        const a = new Float32Array(n);
        for (let i = 0; i < n; i++) a[i] = view.getFloat32(4 * i, false);
        data = a;
      } else {
        const a = new Float64Array(n);
        for (let i = 0; i < n; i++) a[i] = view.getFloat64(8 * i, false);
        data = a;
      }
    }
  }
  return { dtype: h.dtype, dims: h.dims, data };
}

function gunzip(bytes: Uint8Array, file: string): Buffer {
  try {
    return zlib.gunzipSync(bytes);
  } catch (e) {
    throw new Error(`${file}: looks gzipped (starts with 1F 8B) but cannot be decompressed: ${(e as Error).message}`);
  }
}

/** Reads an IDX file, raw or gzipped. */
export function readIdxFile(file: string): IdxArray {
  let bytes: Uint8Array = fs.readFileSync(file);
  if (isGzip(bytes)) bytes = gunzip(bytes, file);
  return parseIdx(bytes, file);
}

/**
 * Reads only the header of an IDX file, raw or gzipped, without reading or decompressing the rest
 * (for a gzipped file only as much as is needed to decode the header). Checks the file size of a raw
 * file against the header.
 */
export function readIdxFileHeader(file: string): IdxHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let want = Math.min(size, 4096);
    let head = Buffer.alloc(want);
    fs.readSync(fd, head, 0, want, 0);
    if (!isGzip(head)) {
      const h = parseIdxHeader(head, file);
      if (size !== h.headerBytes + h.dataBytes) {
        const what = size < h.headerBytes + h.dataBytes ? 'truncated' : 'has trailing bytes';
        throw new Error(`${file}: IDX file ${what}: header declares ${h.dtype}[${h.dims.join(', ')}] = ${h.headerBytes + h.dataBytes} bytes in all, the file has ${size}`);
      }
      return h;
    }
    // Decode a growing prefix of the gzip stream until the header is out (at most 260 bytes).
    for (;;) {
      let out: Buffer;
      try {
        out = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch (e) {
        throw new Error(`${file}: looks gzipped (starts with 1F 8B) but cannot be decompressed: ${(e as Error).message}`);
      }
      const needed = out.length >= 4 ? 4 + 4 * out[3] : 4;
      if (out.length >= needed || want >= size) return parseIdxHeader(out, file);
      want = Math.min(size, want * 4);
      head = Buffer.alloc(want);
      fs.readSync(fd, head, 0, want, 0);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A whole-file IDX check fed (decompressed) bytes in chunks: the header, the exact length the header
 * declares, and for float and double elements that every value is finite (NaN or Infinity pixels
 * would poison training). Keeps no values. `end()` returns the header.
 */
export class IdxScanner {
  private head: Uint8Array = new Uint8Array(0);
  private header?: IdxHeader;
  /** Data bytes seen so far (after the header). */
  private seen = 0;

  constructor(private readonly file: string) {}

  push(chunk: Uint8Array): void {
    let data = chunk;
    if (!this.header) {
      const joined = new Uint8Array(this.head.length + chunk.length);
      joined.set(this.head);
      joined.set(chunk, this.head.length);
      const needed = joined.length >= 4 ? 4 + 4 * joined[3] : 4;
      if (joined.length < needed) {
        this.head = joined;
        return;
      }
      this.header = parseIdxHeader(joined, this.file);
      data = joined.subarray(this.header.headerBytes);
      this.head = new Uint8Array(0);
    }
    this.data(data);
  }

  private data(bytes: Uint8Array): void {
    const h = this.header!;
    const start = this.seen;
    this.seen += bytes.length;
    if (this.seen > h.dataBytes) return; // reported by end()
    if (h.dtype !== 'float' && h.dtype !== 'double') return;
    // Big-endian: the exponent sits in the first two bytes; all ones means NaN or ±Infinity.
    const size = h.elementSize;
    const check = (b0: number, b1: number, at: number) => {
      if ((b0 & 0x7f) !== 0x7f || (size === 4 ? (b1 & 0x80) === 0 : (b1 & 0xf0) !== 0xf0)) return;
      const element = Math.floor(at / size);
      const perExample = h.dims.slice(1).reduce((a, b) => a * b, 1) || 1;
      throw new Error(`${this.file}: value ${element} (example ${Math.floor(element / perExample)}) is NaN or Infinity; every value must be a finite number`);
    };
    // An element whose first byte ended the last chunk.
    if (this.firstByte !== undefined && bytes.length) check(this.firstByte, bytes[0], start - 1);
    this.firstByte = undefined;
    let p = (size - (start % size)) % size;
    for (; p + 1 < bytes.length; p += size) check(bytes[p], bytes[p + 1], start + p);
    if (p === bytes.length - 1) this.firstByte = bytes[p];
  }

  private firstByte?: number;

  end(): IdxHeader {
    if (!this.header) return parseIdxHeader(this.head, this.file); // throws: too short for a header
    const h = this.header;
    if (this.seen !== h.dataBytes) {
      const what = this.seen < h.dataBytes ? 'truncated' : 'has trailing bytes';
      throw new Error(`${this.file}: IDX file ${what}: header declares ${h.dtype}[${h.dims.join(', ')}] = ${h.headerBytes + h.dataBytes} bytes in all, the file has ${h.headerBytes + this.seen}`);
    }
    return h;
  }
}

/** Whether the file starts with the gzip magic bytes. */
function fileIsGzip(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return isGzip(b.subarray(0, fs.readSync(fd, b, 0, 2, 0)));
  } finally {
    fs.closeSync(fd);
  }
}

/** Only a gzipped file (whose end is unknown until it is inflated) or float values need a full read. */
const needsFullScan = (gzip: boolean, h: IdxHeader) => gzip || h.dtype === 'float' || h.dtype === 'double';

/**
 * Checks a whole IDX file as the loader will read it (see IdxScanner) and returns its header. A raw
 * file of integers is checked by its header and size alone.
 */
export function checkIdxFile(file: string): IdxHeader {
  const header = readIdxFileHeader(file);
  if (!needsFullScan(fileIsGzip(file), header)) return header;
  let bytes: Uint8Array = fs.readFileSync(file);
  if (isGzip(bytes)) bytes = gunzip(bytes, file);
  const scanner = new IdxScanner(file);
  scanner.push(bytes);
  return scanner.end();
}

/** checkIdxFile through streams: a gzipped file is inflated chunk by chunk between awaits. */
export async function checkIdxFileAsync(file: string, signal?: AbortSignal): Promise<IdxHeader> {
  const header = readIdxFileHeader(file); // a few kB
  const gzip = fileIsGzip(file);
  if (!needsFullScan(gzip, header)) return header;
  const scanner = new IdxScanner(file);
  const source = fs.createReadStream(file, { highWaterMark: 1 << 18, signal });
  const stream = gzip ? source.pipe(zlib.createGunzip()) : source;
  source.on('error', (e) => stream.destroy(e));
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) scanner.push(chunk);
  } catch (e) {
    if (signal?.aborted) throw e;
    if (gzip && !(e as Error).message.startsWith(file)) throw new Error(`${file}: looks gzipped (starts with 1F 8B) but cannot be decompressed: ${(e as Error).message}`);
    throw e;
  }
  return scanner.end();
}

/** Encodes unsigned bytes as an IDX file (type 0x08) of the given dims. */
export function encodeIdxUbyte(dims: number[], data: Uint8Array): Buffer {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`encodeIdxUbyte: dims [${dims.join(', ')}] need ${n} bytes, got ${data.length}`);
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}
