// Each distillation mode's runner, by the mode's name (its plan and title: src/core/modes.ts).
import type { DistillMode } from '../../core/config/schema';
import { runBornAgain } from './bornAgain';
import type { RunContext } from './context';
import { runOffline } from './offline';
import { runOnline } from './online';

export const MODE_RUNNERS: Record<DistillMode, (ctx: RunContext) => Promise<void>> = {
  offline: runOffline,
  online: runOnline,
  'born-again': runBornAgain,
  self: async () => {
    throw new Error('self-distillation is not built yet');
  },
};
