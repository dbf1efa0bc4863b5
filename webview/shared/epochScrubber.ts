// The epoch slider of the panels that scrub through recorded probes (Logits, Feature Maps,
// Relations): it moves over the epochs that have probes, remembers the choice (and whether it
// follows the newest epoch as a run goes on) in the view's saved state.
import { saveUi } from './api';
import { clampInt, slider } from './dom';

export interface EpochChoice {
  epoch: number;
  /** Follow the newest epoch as new probes arrive. */
  atLatest: boolean;
}

export function epochScrubber(ui: EpochChoice, epochs: () => number[], onChange: () => void) {
  const s = slider({
    id: 'epoch',
    label: 'Epoch',
    min: 0,
    max: 0,
    step: 1,
    value: 0,
    format: (i) => (epochs()[i] === undefined ? '–' : `${epochs()[i]} / ${epochs().at(-1)}`),
    onInput(i) {
      const list = epochs();
      ui.epoch = list[clampInt(i, 0, list.length - 1)] ?? 0;
      ui.atLatest = ui.epoch === list.at(-1);
      saveUi({ epoch: ui.epoch, atLatest: ui.atLatest });
      onChange();
    },
  });
  return {
    el: s.el,
    /** Moves to the newest epoch when following it (or when the chosen one has no probes). */
    follow(): void {
      const list = epochs();
      if (!list.includes(ui.epoch) || ui.atLatest) ui.epoch = list.at(-1) ?? 0;
    },
    /** Redraws the slider for the current epochs; `none` is shown while there are none. */
    update(none: string): void {
      const list = epochs();
      s.set(Math.max(0, list.indexOf(ui.epoch)), Math.max(0, list.length - 1));
      s.input.disabled = list.length < 2;
      if (!list.length) {
        const out = s.el.querySelector('output')!;
        out.textContent = none;
        s.input.setAttribute('aria-valuetext', none);
      }
    },
  };
}
