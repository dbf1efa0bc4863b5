// Config fields shared by loss terms, so every term spells them the same way.
import { num, opt, req, str } from '../schema/dsl';

/** Every term: its weight, and an optional id for logs, charts and comparisons. */
export const termFields = {
  weight: req(num('Weight of this term in the total loss. Every term states its own weight.', { minimum: 0, maximum: 1e6 })),
  id: opt(
    str('Name of this term in logs, charts and comparisons. Default: the type and its layers (`hint:fc1<-fc2`); needed when two terms would get the same name.', {
      minLength: 1,
    }),
  ),
};

/** A layer-pair term: the student layer matched to a teacher layer. */
export const pairFields = {
  student: req(str('Student layer name (e.g. fc1, conv2).', { minLength: 1 })),
  teacher: req(str('Teacher layer name.', { minLength: 1 })),
};

export const temperatureField = opt(num('Overrides distillation.temperature for this term.', { minimum: 0.01, maximum: 1000 }));
