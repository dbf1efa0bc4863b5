// CSV data: one example per row, comma-separated; one column holds the class label (a non-negative
// integer), every other column a numeric feature. An optional header row is skipped. Blank lines
// are ignored; cells may be surrounded by spaces or double quotes. Errors name file:line.
import * as fs from 'fs';

export interface CsvOptions {
  /** Zero-based index of the label column. */
  labelColumn: number;
  /** Whether the first line is a header. */
  header: boolean;
}

export interface CsvTable {
  /** count × features values, as written in the file. */
  x: Float32Array;
  y: Int32Array;
  count: number;
  features: number;
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.charCodeAt(0) === 0x22 && t.charCodeAt(t.length - 1) === 0x22 ? t.slice(1, -1).trim() : t;
}

function parseNumber(cell: string): number {
  const t = unquote(cell);
  if (t.length === 0) return NaN;
  const v = Number(t);
  return Number.isFinite(v) ? v : NaN;
}

function show(cell: string): string {
  const t = cell.trim();
  return t.length === 0 ? 'an empty cell' : `"${t.length > 40 ? t.slice(0, 40) + '…' : t}"`;
}

function checkLabel(file: string, line: number, col: number, cell: string): number {
  const v = parseNumber(cell);
  if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 31)) {
    throw new Error(`${file}:${line}: the label in column ${col} (zero-based labelColumn) is ${show(cell)}, not a class index (a non-negative integer)`);
  }
  return v;
}

/**
 * Parses a whole CSV file into features and labels. Works on the bytes: plain decimal cells
 * (`12`, `-0.5`) are parsed in place, anything else (exponents, quotes, spaces) through Number().
 */
export function readCsvFile(file: string, opts: CsvOptions): CsvTable {
  const nodeBuf = fs.readFileSync(file);
  // A plain Uint8Array view: indexing a Buffer subclass in the hot loop is much slower.
  const buf = new Uint8Array(nodeBuf.buffer, nodeBuf.byteOffset, nodeBuf.length);
  const len = buf.length;
  let newlines = 0;
  for (let p = buf.indexOf(0x0a); p !== -1; p = buf.indexOf(0x0a, p + 1)) newlines++;
  const maxRows = newlines + 1;
  const labelColumn = opts.labelColumn;

  let columns = -1;
  let columnsLine = 0;
  let features = 0;
  let x = new Float32Array(0);
  const y = new Int32Array(maxRows);
  let count = 0;
  let lineNo = 0;
  let headerPending = opts.header;
  let i = len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0; // BOM
  while (i < len) {
    lineNo++;
    let lineEnd = buf.indexOf(0x0a, i);
    if (lineEnd === -1) lineEnd = len;
    const next = lineEnd + 1;
    if (lineEnd > i && buf[lineEnd - 1] === 0x0d) lineEnd--;
    let blank = true;
    for (let p = i; p < lineEnd; p++) {
      if (buf[p] > 0x20) {
        blank = false;
        break;
      }
    }
    if (blank || headerPending) {
      if (!blank) headerPending = false;
      i = next;
      continue;
    }
    if (columns < 0) {
      columns = 1;
      for (let p = i; p < lineEnd; p++) if (buf[p] === 0x2c) columns++;
      columnsLine = lineNo;
      if (labelColumn >= columns) {
        throw new Error(`${file}:${lineNo}: labelColumn is ${labelColumn} (zero-based) but the rows have only ${columns} column${columns === 1 ? '' : 's'}`);
      }
      features = columns - 1;
      if (features < 1) throw new Error(`${file}:${lineNo}: a row needs at least one feature column besides the label`);
      x = new Float32Array(maxRows * features);
    }
    const col = parseRow(buf, i, lineEnd, x, count * features, labelColumn, columns);
    if (col === columns) y[count] = rowLabel;
    else if (col >= 0) throw new Error(`${file}:${lineNo}: ${col} columns, but line ${columnsLine} has ${columns}`);
    else y[count] = slowRow(file, lineNo, columnsLine, columns, labelColumn, nodeBuf.toString('utf8', i, lineEnd), x, count * features);
    count++;
    i = next;
  }
  if (count === 0) throw new Error(`${file}: no data rows${opts.header ? ' after the header' : ''}`);
  // subarray, not slice: the unused tail (blank lines, header) is a few rows at most, and a copy of
  // a large table would cost as much as the parse.
  return { x: x.subarray(0, count * features), y: y.subarray(0, count), count, features };
}

let rowLabel = 0;

/**
 * Parses the cells of one line (bytes start…end) into x from offset k and the label into
 * `rowLabel`; returns the number of columns, or −1 when a cell is not a plain number (the caller
 * then re-parses the row slowly to accept or report it).
 */
function parseRow(buf: Uint8Array, start: number, end: number, x: Float32Array, k: number, labelColumn: number, columns: number): number {
  let col = 0;
  let p = start;
  for (;;) {
    let v = 0;
    let digits = 0;
    const neg = buf[p] === 0x2d;
    if (neg) p++;
    while (p < end) {
      const c = buf[p];
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      digits++;
      p++;
    }
    if (p < end && buf[p] === 0x2e) {
      p++;
      let frac = 0;
      let div = 1;
      while (p < end) {
        const c = buf[p];
        if (c < 0x30 || c > 0x39) break;
        frac = frac * 10 + (c - 0x30);
        div *= 10;
        digits++;
        p++;
      }
      v += frac / div;
    }
    if (digits === 0 || digits > 15 || (p < end && buf[p] !== 0x2c) || col >= columns) return -1;
    if (neg) v = -v;
    if (col === labelColumn) {
      if (neg || v !== Math.floor(v)) return -1;
      rowLabel = v;
    } else {
      x[k++] = v;
    }
    col++;
    if (p >= end) return col;
    p++; // the comma
    if (p === end) return -1; // a trailing comma: an empty cell
  }
}

/** The slow path for a row with unusual cells: parses each through Number(); throws on a bad cell. */
function slowRow(file: string, lineNo: number, columnsLine: number, columns: number, labelColumn: number, line: string, x: Float32Array, k: number): number {
  const cells = line.split(',');
  if (cells.length !== columns) throw new Error(`${file}:${lineNo}: ${cells.length} columns, but line ${columnsLine} has ${columns}`);
  let label = 0;
  for (let c = 0; c < columns; c++) {
    if (c === labelColumn) label = checkLabel(file, lineNo, labelColumn, cells[c]);
    else {
      const v = parseNumber(cells[c]);
      if (Number.isNaN(v)) throw new Error(`${file}:${lineNo}: column ${c} (zero-based) is ${show(cells[c])}, not a number`);
      x[k++] = v;
    }
  }
  return label;
}

export interface CsvSummary {
  rows: number;
  columns: number;
  features: number;
  maxLabel: number;
}

/**
 * A CSV check fed in chunks: counts the data rows and columns, finds the largest label, and checks
 * every cell as the loader will (labels are class indices, features finite numbers: `abc`, an
 * empty cell, `NaN` or `Infinity` are errors naming file:line) without keeping the values. The
 * same scanner serves a synchronous read (CLI, trainer) and an asynchronous one (the editor).
 */
export class CsvScanner {
  private rows = 0;
  private columns = -1;
  private columnsLine = 0;
  private maxLabel = -1;
  private lineNo = 0;
  private headerPending: boolean;
  private first = true;
  /** The bytes of a line cut by the end of the last chunk. */
  private carry: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly file: string,
    private readonly opts: CsvOptions,
  ) {
    this.headerPending = opts.header;
  }

  push(chunk: Uint8Array): void {
    let buf = chunk;
    if (this.carry.length) {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry);
      buf.set(chunk, this.carry.length);
    }
    let i = 0;
    if (this.first && buf.length >= 3) {
      this.first = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3; // BOM
    }
    for (;;) {
      const end = buf.indexOf(0x0a, i);
      if (end === -1) break;
      this.line(buf, i, end);
      i = end + 1;
    }
    // A copy: the caller may reuse the chunk's memory for the next read (and Buffer#slice does not copy).
    this.carry = new Uint8Array(buf.subarray(i));
  }

  end(): CsvSummary {
    if (this.carry.length) this.line(this.carry, 0, this.carry.length);
    this.carry = new Uint8Array(0);
    if (this.rows === 0) throw new Error(`${this.file}: no data rows${this.opts.header ? ' after the header' : ''}`);
    return { rows: this.rows, columns: this.columns, features: this.columns - 1, maxLabel: this.maxLabel };
  }

  private line(buf: Uint8Array, start: number, end: number): void {
    this.lineNo++;
    if (end > start && buf[end - 1] === 0x0d) end--;
    let blank = true;
    for (let p = start; p < end; p++) {
      if (buf[p] > 0x20) {
        blank = false;
        break;
      }
    }
    if (blank) return;
    if (this.headerPending) {
      this.headerPending = false;
      return;
    }
    const { file, lineNo, opts } = this;
    if (this.columns < 0) {
      let columns = 1;
      for (let p = start; p < end; p++) if (buf[p] === 0x2c) columns++;
      if (opts.labelColumn >= columns) throw new Error(`${file}:${lineNo}: labelColumn is ${opts.labelColumn} (zero-based) but the rows have only ${columns} column${columns === 1 ? '' : 's'}`);
      if (columns < 2) throw new Error(`${file}:${lineNo}: a row needs at least one feature column besides the label`);
      this.columns = columns;
      this.columnsLine = lineNo;
      this.scratch = new Float32Array(columns - 1);
    }
    const col = parseRow(buf, start, end, this.scratch, 0, opts.labelColumn, this.columns);
    let label: number;
    if (col === this.columns) label = rowLabel;
    else if (col >= 0) throw new Error(`${file}:${lineNo}: ${col} columns, but line ${this.columnsLine} has ${this.columns}`);
    else label = slowRow(file, lineNo, this.columnsLine, this.columns, opts.labelColumn, new TextDecoder().decode(buf.subarray(start, end)), this.scratch, 0);
    if (label > this.maxLabel) this.maxLabel = label;
    this.rows++;
  }

  private scratch = new Float32Array(0);
}

const SCAN_CHUNK = 1 << 20;

/** Scans a whole CSV file synchronously (see CsvScanner). */
export function summarizeCsvFile(file: string, opts: CsvOptions): CsvSummary {
  const scanner = new CsvScanner(file, opts);
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.alloc(SCAN_CHUNK);
  try {
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      scanner.push(chunk.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return scanner.end();
}

/**
 * Scans a whole CSV file without holding up the event loop for long: reads of 128 kB, each
 * scanned between awaits (a few milliseconds each). `signal` stops it between reads.
 */
export async function summarizeCsvFileAsync(file: string, opts: CsvOptions, signal?: AbortSignal): Promise<CsvSummary> {
  const scanner = new CsvScanner(file, opts);
  const handle = await fs.promises.open(file, 'r');
  const chunk = Buffer.alloc(SCAN_CHUNK / 8);
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      scanner.push(chunk.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return scanner.end();
}
