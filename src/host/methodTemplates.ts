// One "New Experiment" template per distillation method of the loss registry: the method's term
// with its reference's default weight (and hard-label CE at weight 1, as RepDistiller's
// train_student.py runs every method), on the quick MNIST MLPs for terms over dense layers and
// logits, or on the Fashion-MNIST CNNs for terms that need conv maps. Pure (no vscode).
import fashionCnnHints from '../../examples/fashion-cnn-hints.distill.json';
import quickMnist from '../../examples/quick-mnist.distill.json';
import { allLosses, termPairs } from '../core/losses';
import type { Template } from './templates';

export function methodTemplates(): Template[] {
  return allLosses()
    .filter((d) => d.type !== 'ce')
    .map((d) => {
      const conv = termPairs(d.example).some((p) => /^(conv|pool)/.test(p.student) || /^(conv|pool)/.test(p.teacher));
      const base = structuredClone(conv ? fashionCnnHints : quickMnist) as Record<string, unknown> & { distillation: { losses: unknown[] } };
      base.name = `${base.name as string}-${d.type}`;
      base.description = `${d.title} (${d.paper}), as ${d.reference}, with hard-label CE.`;
      base.distillation.losses = [{ type: 'ce', weight: 1 }, d.example];
      // Methods are compared as their references run them: the student learns on the whole training split.
      delete (base.distillation as { transfer?: unknown }).transfer;
      if (d.templateStudent) base.student = { model: d.templateStudent };
      return {
        id: `method-${d.type}`,
        label: `Method: ${d.title} (${d.type}, weight ${String(d.example.weight)})`,
        detail: `${d.knowledge} · ${d.paper}`,
        config: base,
      };
    });
}
