// Each distillation mode's runner, by the mode's name (its plan and title: src/core/modes.ts).
import type { DistillMode } from '../../core/config/schema';
import { runBornAgain } from './bornAgain';
import type { RunContext } from './context';
import { runOffline } from './offline';
import { runOnline } from './online';
import { runSelf } from './self';

export const MODE_RUNNERS: Record<DistillMode, (ctx: RunContext) => Promise<void>> = {
  offline: runOffline,
  online: runOnline,
  'born-again': runBornAgain,
  self: runSelf,
};
