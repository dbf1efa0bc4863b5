// The probe samples as a keyboard-navigable gallery of thumbnails (role=listbox: arrow keys,
// Home/End; the selection is announced through aria-activedescendant).
import type { ProbeIndex } from '../../src/core/webviewProtocol';
import { clampInt, h } from './dom';
import { drawGrey } from './exporter';

export interface ThumbInfo {
  caption: string;
  wrong: boolean;
  label: string;
}

export class SampleGallery {
  readonly el: HTMLElement;
  selected = 0;
  private shown = -1;
  private thumbs: { el: HTMLElement; caption: HTMLElement }[] = [];

  constructor(
    id: string,
    private readonly onSelect: (k: number) => void,
    private readonly scale = 2,
  ) {
    this.el = h('div', { class: 'gallery', role: 'listbox', id, 'aria-label': 'Probe samples', tabindex: '0' });
    this.el.addEventListener('keydown', (e) => {
      const perRow = Math.max(1, Math.round(this.el.clientWidth / (this.thumbs[0]?.el.offsetWidth || 64)));
      const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow, Home: -Infinity, End: Infinity };
      if (!(e.key in moves)) return;
      e.preventDefault();
      const d = moves[e.key];
      this.select(d === -Infinity ? 0 : d === Infinity ? this.thumbs.length - 1 : this.selected + d);
    });
  }

  get size(): number {
    return this.thumbs.length;
  }

  build(index: ProbeIndex, labelOf: (k: number) => string): void {
    this.el.textContent = '';
    this.shown = -1;
    this.thumbs = index.samples.map((testIndex, k) => {
      const img = index.images?.pixels[k];
      const canvas = h('canvas', { class: 'thumb', 'aria-hidden': 'true' });
      if (img && index.images) drawGrey(canvas, img, index.images.shape[1], index.images.shape[0], this.scale);
      const caption = h('span', { class: 'thumb-caption' }, labelOf(k));
      const el = h(
        'div',
        { class: 'thumb-option', role: 'option', id: `${this.el.id}-${k}`, 'data-index': String(k), 'aria-selected': 'false' },
        img ? canvas : h('span', { class: 'no-image' }, `#${testIndex}`),
        caption,
      );
      el.addEventListener('click', () => this.select(k, true));
      return { el, caption };
    });
    this.el.append(...this.thumbs.map((t) => t.el));
    this.selected = clampInt(this.selected, 0, Math.max(0, this.thumbs.length - 1));
  }

  select(k: number, focus = false): void {
    if (!this.thumbs.length) return;
    this.selected = clampInt(k, 0, this.thumbs.length - 1);
    if (focus) this.el.focus();
    this.onSelect(this.selected);
  }

  /** Marks the selection and refreshes captions. */
  update(info: (k: number) => ThumbInfo): void {
    this.thumbs.forEach((t, k) => {
      const sel = k === this.selected;
      const i = info(k);
      if (t.el.getAttribute('aria-selected') !== String(sel)) t.el.setAttribute('aria-selected', String(sel));
      t.el.classList.toggle('selected', sel);
      t.el.classList.toggle('wrong', i.wrong);
      if (t.caption.textContent !== i.caption) t.caption.textContent = i.caption;
      if (t.el.getAttribute('aria-label') !== i.label) t.el.setAttribute('aria-label', i.label);
    });
    this.el.setAttribute('aria-activedescendant', `${this.el.id}-${this.selected}`);
    // Only when the selection moved: scrolling forces a layout.
    if (this.shown !== this.selected) this.thumbs[this.selected]?.el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    this.shown = this.selected;
  }
}
