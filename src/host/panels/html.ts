// The HTML every result panel starts from, after vscode-extension-samples' webview-sample: a
// strict Content-Security-Policy (nothing by default; scripts only with this load's nonce; styles,
// images and fonts only from the extension's own files), the theme stylesheets and one app bundle.
// Pure (no vscode): the webview tests load exactly this page.
import * as crypto from 'node:crypto';
import type { PanelKind } from '../../core/webviewProtocol';
import type { SurfacePlace } from './surface';

export function nonce(): string {
  return crypto.randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export interface PanelHtml {
  kind: PanelKind;
  /** Where the view is shown (the stylesheet lays the panel area's wide, short view out in columns). */
  place?: SurfacePlace;
  title: string;
  /** `webview.cspSource`: the origin the extension's files are served from. */
  cspSource: string;
  nonce: string;
  /** URIs (already `asWebviewUri`'d) of the app script and the stylesheets. */
  scriptUri: string;
  styleUris: string[];
}

export function contentSecurityPolicy(cspSource: string, nonceValue: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource}`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonceValue}'`,
  ].join('; ');
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderPanelHtml(o: PanelHtml): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escape(contentSecurityPolicy(o.cspSource, o.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
${o.styleUris.map((u) => `  <link rel="stylesheet" href="${escape(u)}">`).join('\n')}
  <title>${escape(o.title)}</title>
</head>
<body data-view="${o.kind}" data-place="${o.place ?? 'editor'}">
  <div id="app" aria-busy="true"></div>
  <script nonce="${o.nonce}" src="${escape(o.scriptUri)}"></script>
</body>
</html>
`;
}
