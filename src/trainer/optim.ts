// Optimisers and learning-rate schedules from the config.
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig, ScheduleConfig } from '../core/config/schema';
import { FusedMomentum, fusedMomentumMaxNormStep, fusedMomentumStep, leadingMaxNorm, scaledMomentumStep } from './kernels/fused';
import { constrainWeights, type TappedModel, weightConstraints } from './models';

/**
 * The configured optimiser. SGD with momentum runs fused where a backend has a fused step: the
 * native addon on wasm (the same numbers as tfjs's), two GPU programs on webgpu.
 */
export function createOptimizer(cfg: OptimizerConfig): tf.Optimizer {
  if (cfg.type === 'adam') return tf.train.adam(cfg.lr);
  if (!(cfg.momentum > 0)) return tf.train.sgd(cfg.lr);
  const step = fusedMomentumStep();
  return step ? new FusedMomentum(step, cfg.lr, cfg.momentum, cfg.nesterov, fusedMomentumMaxNormStep(), scaledMomentumStep()) : tf.train.momentum(cfg.lr, cfg.momentum, cfg.nesterov);
}

/**
 * One optimiser step for `grads`, then the constraints (max-norm) of the layers of `nets`. With
 * FusedMomentum each variable is constrained right after its own update, while its weights are
 * still in cache (the Hinton teacher's max-norms: 0.50–0.54 instead of 0.57–0.63 ms a step), and
 * where the addon is loaded a max-norm is done by the step itself (its norms summed as the update
 * writes the weights: one pass over each kernel fewer). Other optimisers update every variable
 * in one call (Adam's bias corrections count the calls), and the constraints follow it.
 */
export function applyStep(optimizer: tf.Optimizer, grads: tf.NamedTensorMap, nets: TappedModel[]): void {
  const pending = new Map(nets.flatMap((net) => [...weightConstraints(net)]));
  const constrain = (v: tf.Variable, constrained: boolean) => {
    const c = pending.get(v.name);
    if (!c) return;
    if (!constrained) constrainWeights(c.variable, c.constraint);
    pending.delete(v.name);
  };
  const maxNormOf = (v: tf.Variable) => {
    const c = pending.get(v.name);
    return c && leadingMaxNorm(v, c.constraint);
  };
  // By class name: tfjs optimisers override Symbol.hasInstance (every optimiser "is" any other).
  if (optimizer.getClassName() === FusedMomentum.className) (optimizer as FusedMomentum).applyGradients(grads, constrain, maxNormOf);
  else optimizer.applyGradients(grads);
  for (const { variable, constraint } of pending.values()) constrainWeights(variable, constraint);
}

/**
 * tfjs has no setter common to all optimisers: SGD and momentum have setLearningRate (which also
 * refreshes their cached scalar); Adam reads its `learningRate` field on every step. (No
 * `instanceof` here: tfjs optimisers override Symbol.hasInstance, so an Adam "is" an SGDOptimizer.)
 */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * The learning rate for 1-based `epoch` of `epochs`. `step` follows RepDistiller's
 * adjust_learning_rate: lr·gamma^(number of milestones strictly below the epoch). `cosine` spans
 * the epochs-1 intervals between the first epoch (the base rate) and the last (exactly minLr); a
 * one-epoch run keeps the base rate.
 */
export function learningRateAt(schedule: ScheduleConfig, baseLr: number, epoch: number, epochs: number): number {
  switch (schedule.type) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * Math.pow(schedule.gamma, schedule.milestones.filter((m) => epoch > m).length);
    case 'cosine': {
      if (epochs <= 1) return baseLr;
      if (epoch >= epochs) return schedule.minLr;
      return schedule.minLr + ((baseLr - schedule.minLr) * (1 + Math.cos((Math.PI * (epoch - 1)) / (epochs - 1)))) / 2;
    }
  }
}
