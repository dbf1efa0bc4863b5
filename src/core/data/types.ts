// The shapes the data loader hands to the trainer: plain typed arrays, no tfjs.

/** One split (train, validation or test) of a dataset. */
export interface Split {
  /** count × prod(inputShape) values, row-major (an image is h·w·c, channels last), already normalised. */
  x: Float32Array;
  /** count class labels in 0 … numClasses−1 (Uint8Array for images from IDX / built-ins, Int32Array for CSV). */
  y: Uint8Array | Int32Array;
  count: number;
  /** Row of each example in its source (train or test file / built-in cache), in the order of x. */
  indices?: number[];
}

export type NormalizeMethod = 'unit' | 'standard' | 'none';

/** What was done to the raw values, so a model can be applied to new raw inputs the same way. */
export interface Normalization {
  method: NormalizeMethod;
  /**
   * For `standard`: one number for images (a global scalar over all pixels of the training split),
   * or one number per feature for CSV feature vectors (inputShape of rank 1). normalised = (raw − mean) / std.
   * For `unit`: mean 0, std 255. For `none`: mean 0, std 1.
   */
  mean: number | number[];
  std: number | number[];
}

export interface Dataset {
  name: string;
  /** [h, w, c] for images, [n] for feature vectors. */
  inputShape: number[];
  numClasses: number;
  classNames?: string[];
  train: Split;
  validation: Split;
  test: Split;
  normalization: Normalization;
  /** Built-ins only: the binary cache used and whether it already existed (false: converted now). */
  cache?: { dir: string; hit: boolean; convertMs?: number };
}

/** What the config validator needs to know about a data source, cheaply. */
export interface DataSourceInfo {
  inputShape: number[];
  numClasses: number;
  /**
   * Examples in the training pool (train + validation, before the validation split). For `mnist`
   * (one pool of 10,000 split by the seed) this is what the test split leaves: 10,000 − testSize
   * (or − round(testFraction · 10,000)), as core's `DataFacts` has it.
   */
  trainAvailable: number;
  /** Examples in the test source; for `mnist` the whole pool of 10,000. */
  testAvailable: number;
  classNames?: string[];
  /** True for `mnist`: test, validation and train are all carved from the same testAvailable examples. */
  sharedPool?: boolean;
}

export interface LoadOptions {
  /** Directory of the config file; relative data paths are resolved against it. */
  configDir: string;
  /** The experiment seed; splits are a pure function of (data config, seed). */
  seed: number;
  /** Writable directory for the built-in datasets' binary caches (created if missing). */
  cacheDir: string;
  /** Read-only directories searched for a ready cache before cacheDir (e.g. one shipped with the extension). */
  extraCacheDirs?: string[];
  /** Progress lines (e.g. "converting fashion-mnist … (first use)"). */
  log?: (message: string) => void;
}
