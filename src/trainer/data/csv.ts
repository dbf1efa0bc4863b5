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
  /** File line (1-based) of each example. */
  lines?: number[];
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

/** Parses a whole CSV file into features and labels. */
export function readCsvFile(file: string, opts: CsvOptions): CsvTable {
  let text = fs.readFileSync(file, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let newlines = 0;
  for (let p = text.indexOf('\n'); p !== -1; p = text.indexOf('\n', p + 1)) newlines++;
  const maxRows = newlines + 1;

  let columns = -1;
  let columnsLine = 0;
  let features = 0;
  let x = new Float32Array(0);
  const y = new Int32Array(maxRows);
  let count = 0;
  let lineNo = 0;
  let pos = 0;
  let headerPending = opts.header;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    lineNo++;
    let line = text.slice(pos, end);
    pos = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim().length === 0) continue;
    if (headerPending) {
      headerPending = false;
      continue;
    }
    const cells = line.split(',');
    if (columns < 0) {
      columns = cells.length;
      columnsLine = lineNo;
      if (opts.labelColumn >= columns) {
        throw new Error(`${file}:${lineNo}: labelColumn is ${opts.labelColumn} (zero-based) but the rows have only ${columns} column${columns === 1 ? '' : 's'}`);
      }
      features = columns - 1;
      if (features < 1) throw new Error(`${file}:${lineNo}: a row needs at least one feature column besides the label`);
      x = new Float32Array(maxRows * features);
    } else if (cells.length !== columns) {
      throw new Error(`${file}:${lineNo}: ${cells.length} columns, but line ${columnsLine} has ${columns}`);
    }
    y[count] = checkLabel(file, lineNo, opts.labelColumn, cells[opts.labelColumn]);
    let k = count * features;
    for (let c = 0; c < columns; c++) {
      if (c === opts.labelColumn) continue;
      const v = parseNumber(cells[c]);
      if (Number.isNaN(v)) throw new Error(`${file}:${lineNo}: column ${c} (zero-based) is ${show(cells[c])}, not a number`);
      x[k++] = v;
    }
    count++;
  }
  if (count === 0) throw new Error(`${file}: no data rows${opts.header ? ' after the header' : ''}`);
  return { x: x.slice(0, count * features), y: y.slice(0, count), count, features };
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
