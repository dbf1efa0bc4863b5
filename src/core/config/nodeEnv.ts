// The validation environment on a real disk (CLI, trainer, editor): files through `fs`. Data
// descriptions for idx/csv come from the trainer (`describeDataSource`), passed in by the caller,
// since reading those files belongs to the trainer's data code.
import * as fs from 'fs';
import type { ValidationEnv } from './env';

export function defaultNodeEnv(extra: Pick<ValidationEnv, 'describeData'> = {}): ValidationEnv {
  return {
    fileExists(absPath) {
      try {
        return fs.statSync(absPath).isFile();
      } catch {
        return false;
      }
    },
    readText(absPath) {
      try {
        // Only regular files: reading a FIFO would block until something writes to it.
        if (!fs.statSync(absPath).isFile()) return undefined;
        return fs.readFileSync(absPath, 'utf8');
      } catch {
        return undefined;
      }
    },
    ...extra,
  };
}
