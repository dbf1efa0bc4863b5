// Saving a chart: the webview cannot write files, so it hands the CSV text or the PNG data URL to
// the host, which asks where to save it.
import { post, requestId } from './api';

export function exportCsv(suggestedName: string, csv: string): void {
  post({ type: 'export', requestId: requestId(), format: 'csv', suggestedName, data: csv });
}

export function exportPng(suggestedName: string, dataUrl: string | undefined): void {
  if (dataUrl) post({ type: 'export', requestId: requestId(), format: 'png', suggestedName, data: dataUrl });
}

/** A grey image (0–1 values, row-major) drawn into a canvas at `scale` CSS pixels per pixel. */
export function drawGrey(canvas: HTMLCanvasElement, pixels: readonly number[], width: number, height: number, scale: number): void {
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${height * scale}px`;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = Math.round(255 * Math.max(0, Math.min(1, pixels[i] ?? 0)));
    img.data[4 * i] = v;
    img.data[4 * i + 1] = v;
    img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
