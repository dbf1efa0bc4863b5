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
 * Counts the data rows and columns and finds the largest label without parsing the features
 * (a streaming byte scan in 1 MB chunks). The label cells are checked; feature cells are not.
 */
export function summarizeCsvFile(file: string, opts: CsvOptions): CsvSummary {
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.alloc(1 << 20);
  let rows = 0;
  let columns = -1;
  let columnsLine = 0;
  let maxLabel = -1;
  let lineNo = 1;
  let col = 0;
  let label = '';
  let nonBlank = false;
  let headerPending = opts.header;
  let first = true;
  const endLine = (): void => {
    if (nonBlank) {
      if (headerPending) headerPending = false;
      else {
        const cols = col + 1;
        if (columns < 0) {
          columns = cols;
          columnsLine = lineNo;
          if (opts.labelColumn >= columns) throw new Error(`${file}:${lineNo}: labelColumn is ${opts.labelColumn} (zero-based) but the rows have only ${columns} column${columns === 1 ? '' : 's'}`);
          if (columns < 2) throw new Error(`${file}:${lineNo}: a row needs at least one feature column besides the label`);
        } else if (cols !== columns) {
          throw new Error(`${file}:${lineNo}: ${cols} columns, but line ${columnsLine} has ${columns}`);
        }
        const v = checkLabel(file, lineNo, opts.labelColumn, label);
        if (v > maxLabel) maxLabel = v;
        rows++;
      }
    }
    lineNo++;
    col = 0;
    label = '';
    nonBlank = false;
  };
  try {
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      let i = 0;
      if (first) {
        first = false;
        if (n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3; // BOM
      }
      for (; i < n; i++) {
        const c = chunk[i];
        if (c === 0x0a) endLine();
        else if (c === 0x2c) {
          col++;
          nonBlank = true;
        } else if (c > 0x20) {
          nonBlank = true;
          if (col === opts.labelColumn && label.length < 64) label += String.fromCharCode(c);
        }
      }
    }
    endLine();
  } finally {
    fs.closeSync(fd);
  }
  if (rows === 0) throw new Error(`${file}: no data rows${opts.header ? ' after the header' : ''}`);
  return { rows, columns, features: columns - 1, maxLabel };
}
