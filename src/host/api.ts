// What activate() returns: the live objects, for the extension-host tests (and for other
// extensions that want to start or watch runs).
import type { ExperimentTreeProvider } from './experimentTree';
import type { RunIndex } from './runIndex';
import type { RunManager } from './runManager';

export interface DistillLabApi {
  readonly runs: RunManager;
  readonly runIndex: RunIndex;
  readonly experiments: ExperimentTreeProvider;
}
