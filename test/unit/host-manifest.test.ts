// package.json's contributions agree with the code: every command is registered, categorised and
// reachable; menus name existing commands; context-only commands are hidden from the palette;
// training needs a trusted workspace; the walkthrough's media exist; layering holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKEND_PREFERENCES } from '../../src/core/protocol';

interface Command {
  command: string;
  title: string;
  category?: string;
  enablement?: string;
}
interface MenuItem {
  command: string;
  when?: string;
  group?: string;
}

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const contributes = pkg.contributes;
const commands: Command[] = contributes.commands;
const ids = new Set(commands.map((c) => c.command));
const menus: Record<string, MenuItem[]> = contributes.menus;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const hostSources = sourceFiles('src/host').map((f) => fs.readFileSync(f, 'utf8')).join('\n');

test('every command is in the "Distill Lab" category and registered by src/host', () => {
  // The panel commands are registered in a loop over the PANEL_COMMANDS map of src/host/panels/index.ts.
  const panelIds = [...fs.readFileSync('src/host/panels/index.ts', 'utf8').matchAll(/^ {2}'(distillLab\.[A-Za-z]+)': '/gm)].map((m) => m[1]);
  assert.ok(panelIds.length >= 5, 'PANEL_COMMANDS found');
  for (const c of commands) {
    assert.equal(c.category, 'Distill Lab', c.command);
    assert.ok(hostSources.includes(`registerCommand('${c.command}'`) || panelIds.includes(c.command), `${c.command} is contributed but never registered`);
  }
  const registered = [...[...hostSources.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]), ...panelIds];
  for (const id of registered) assert.ok(ids.has(id), `${id} is registered but not contributed`);
});

test('menus only name contributed commands; context-only commands are hidden from the palette', () => {
  for (const [menu, items] of Object.entries(menus)) {
    for (const item of items) assert.ok(ids.has(item.command), `${menu} names unknown command ${item.command}`);
  }
  const hidden = new Set(menus.commandPalette.filter((i) => i.when === 'false').map((i) => i.command));
  assert.ok(hidden.has('distillLab.copyRunId') && hidden.has('distillLab.openRunConfig'));
  for (const id of hidden) {
    const inTree = menus['view/item/context'].some((i) => i.command === id);
    assert.ok(inTree, `${id} is hidden from the palette but no tree menu offers it`);
  }
});

test('tree menus key on the contextValues the tree sets', () => {
  const values = new Set([...hostSources.matchAll(/'(distill(?:Experiment|Run|Artifact)[\w.]*)'/g)].map((m) => m[1]));
  for (const v of ['distillExperiment', 'distillExperiment.running', 'distillRun.queued', 'distillRun.starting']) assert.ok(values.has(v), v);
  assert.match(hostSources, /contextValue = `distillRun\.\$\{m\.status\}`/);
  const inline = menus['view/item/context'].filter((i) => i.group?.startsWith('inline'));
  assert.deepEqual(inline.map((i) => i.command).sort(), ['distillLab.run', 'distillLab.stop']);
});

test('training needs a trusted workspace', () => {
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.ok(pkg.capabilities.untrustedWorkspaces.description.length > 20);
  assert.equal(commands.find((c) => c.command === 'distillLab.run')?.enablement, 'isWorkspaceTrusted');
  for (const [menu, items] of Object.entries(menus)) {
    for (const item of items.filter((i) => i.command === 'distillLab.run')) assert.match(item.when ?? '', /isWorkspaceTrusted/, `${menu}`);
  }
  assert.match(hostSources, /vscode\.workspace\.isTrusted/);
});

test('activation events, views, settings, walkthrough and packaging fields', () => {
  assert.deepEqual(pkg.activationEvents, [
    'workspaceContains:**/*.distill.json',
    'onView:distillLab.experiments',
    'onView:distillLab.results',
    ...['logits', 'lossSplit', 'featureMaps', 'relations', 'modelLayers', 'compare'].map((v) => `onWebviewPanel:distillLab.${v}`),
  ]);
  assert.equal(pkg.engines.vscode, '^1.100.0');
  assert.equal(contributes.views.distillLab[0].id, 'distillLab.experiments');
  assert.ok(fs.existsSync(contributes.viewsContainers.activitybar[0].icon));
  // The Results webview view lives in the panel area (src/host/panels/index.ts RESULTS_VIEW).
  const panelArea = contributes.viewsContainers.panel[0].id;
  assert.deepEqual(contributes.views[panelArea].map((v: { id: string; type?: string }) => [v.id, v.type]), [['distillLab.results', 'webview']]);
  assert.match(fs.readFileSync('src/host/panels/index.ts', 'utf8'), /RESULTS_VIEW = 'distillLab\.results'/);
  assert.ok(fs.existsSync(pkg.icon));
  assert.equal(contributes.viewsWelcome.length, 2);
  const props = contributes.configuration.properties;
  assert.deepEqual(Object.keys(props).sort(), ['distillLab.backend', 'distillLab.concurrency', 'distillLab.probeSamples', 'distillLab.runsFolder']);
  assert.deepEqual(props['distillLab.backend'].enum, [...BACKEND_PREFERENCES]);
  assert.equal(props['distillLab.concurrency'].default, 1);
  for (const step of contributes.walkthroughs[0].steps) assert.ok(fs.existsSync(step.media.markdown), step.media.markdown);
  const ignore = fs.readFileSync('.vscodeignore', 'utf8');
  for (const line of ['!dist/**/*.js', '!dist/**/*.wasm', '!dist/data/**', '!schemas/**', '!media/**', '!LICENSE']) assert.ok(ignore.includes(line), line);
  assert.match(pkg.scripts.package, /vsce package/);
});

test('one command per intent: no two commands for the same thing, each named for what it does', () => {
  const titles = commands.map((c) => c.title);
  assert.equal(new Set(titles).size, titles.length, 'titles are unique');
  // Replaced: Open an Example (= New Experiment from Template…), Open Loss Split (= Open Results),
  // Compare Runs (Charts)… (= Compare Runs…, the Markdown report is gone).
  for (const gone of ['distillLab.openExample', 'distillLab.openLossSplit', 'distillLab.compareRunsPanel']) assert.ok(!ids.has(gone), gone);
  // The raw file is named as such; Open Results opens the result panel (panels/index.ts PANEL_COMMANDS).
  assert.equal(commands.find((c) => c.command === 'distillLab.openMetricsFile')?.title, 'Open Metrics File');
  assert.match(fs.readFileSync('src/host/panels/index.ts', 'utf8'), /'distillLab\.openResults': 'lossSplit'/);
  assert.match(fs.readFileSync('src/host/panels/index.ts', 'utf8'), /'distillLab\.compareRuns': 'compare'/);
});

test('layering: core and trainer never import vscode; host modules unit-tested here stay vscode-free', () => {
  const importsVscode = (f: string) => /from ['"]vscode['"]|require\(['"]vscode['"]\)/.test(fs.readFileSync(f, 'utf8').replace(/import type[^;]+;/g, ''));
  for (const f of [...sourceFiles('src/core'), ...sourceFiles('src/trainer')]) assert.equal(importsVscode(f), false, f);
  const pure = ['runFormat', 'runJob', 'runQueue', 'pairLenses', 'templates', 'treeNodes', 'runsLocation', 'throttle', 'events', 'dispose'];
  for (const name of pure) assert.equal(importsVscode(`src/host/${name}.ts`), false, name);
  const ext = fs.readFileSync('src/extension.ts', 'utf8');
  assert.doesNotMatch(ext, /@tensorflow|trainer\//, 'extension.ts only wires host pieces');
});
