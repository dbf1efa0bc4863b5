// Commands on experiments (configs): new from a template, run, stop, validate, reuse a trained teacher.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import type { Problem } from '../../core/config/parse';
import { MODELS } from '../../core/runStore';
import { notify, registerCommand as register } from '../notify';
import type { JobOutcome } from '../runJob';
import { CONFIG_SUFFIX, configStem, isConfigPath } from '../runsLocation';
import { type Template, TEMPLATES, templateText } from '../templates';
import { isExperimentNode, isQueuedNode, isRunNode, isSeedGroupNode } from '../treeNodes';
import type { Services } from './services';
import { resolveConfig } from './targets';

/** Options a caller (a test, a walkthrough link) may pass instead of answering the prompts. */
interface NewExperimentOptions {
  template?: string;
  /** File stem: `my-run` → my-run.distill.json. */
  name?: string;
}

export function registerExperimentCommands(s: Services): vscode.Disposable[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- VS Code passes command arguments untyped; each handler checks its own
  const registerCommand = (id: string, handler: (...args: any[]) => unknown) => register(id, handler, s.log);
  return [
    registerCommand('distillLab.newExperiment', (folder?: unknown, options?: unknown) =>
      newExperiment(folder instanceof vscode.Uri ? folder : undefined, isOptions(options) ? options : {}),
    ),
    registerCommand('distillLab.run', async (arg?: unknown): Promise<JobOutcome | undefined> => {
      const uri = await resolveConfig(arg, 'Run which experiment?');
      return uri && s.manager.run(uri);
    }),
    registerCommand('distillLab.stop', (arg?: unknown) => stop(s, arg)),
    registerCommand('distillLab.validate', async (arg?: unknown) => {
      const uri = await resolveConfig(arg, 'Validate which experiment?');
      return uri && validate(s, uri);
    }),
    registerCommand('distillLab.reuseTeacher', async (arg?: unknown, runId?: unknown) => {
      const uri = await resolveConfig(arg, 'Reuse a trained teacher in which experiment?');
      return uri && reuseTeacher(s, uri, typeof runId === 'string' ? runId : undefined);
    }),
    registerCommand('distillLab.refresh', async () => {
      await s.runIndex.refresh();
      await s.tree.reloadConfigs();
    }),
  ];
}

const isOptions = (x: unknown): x is NewExperimentOptions => typeof x === 'object' && x !== null && !Array.isArray(x);

async function pickTemplate(id: string | undefined, title: string): Promise<Template | undefined> {
  if (id) return TEMPLATES.find((t) => t.id === id);
  // ignoreFocusOut: started from the walkthrough, the Welcome editor takes the focus back as the
  // pick opens; without it the pick (and then the name box) closes and nothing is created.
  const picked = await vscode.window.showQuickPick(
    TEMPLATES.map((t) => ({ label: t.label, detail: t.detail, template: t })),
    { title, placeHolder: 'Choose a template', ignoreFocusOut: true },
  );
  return picked?.template;
}

/** The folder new configs go to: the given one, the only workspace folder, or the one the user picks. */
async function targetFolder(folder: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
  if (folder) return fs.statSync(folder.fsPath, { throwIfNoEntry: false })?.isDirectory() ? folder : vscode.Uri.joinPath(folder, '..');
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return folders[0]?.uri;
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Create the experiment in which folder?' }))?.uri;
}

async function newExperiment(folderArg: vscode.Uri | undefined, options: NewExperimentOptions): Promise<vscode.Uri | undefined> {
  const template = await pickTemplate(options.template, 'New Experiment');
  if (!template) return undefined;
  const folder = await targetFolder(folderArg);
  let file: vscode.Uri | undefined;
  if (!folder) {
    // No folder open: ask where to save it.
    file = await vscode.window.showSaveDialog({ title: 'New Experiment', saveLabel: 'Create', filters: { 'Distill experiment': ['distill.json'] } });
    if (file && !isConfigPath(file.fsPath)) file = vscode.Uri.file(file.fsPath.replace(/(\.json)?$/, CONFIG_SUFFIX));
  } else {
    const taken = (stem: string) => fs.existsSync(path.join(folder.fsPath, stem + CONFIG_SUFFIX));
    let suggestion = template.id;
    for (let n = 2; taken(suggestion); n++) suggestion = `${template.id}-${n}`;
    const stem =
      options.name ??
      (await vscode.window.showInputBox({
        title: 'New Experiment',
        prompt: `File name in ${vscode.workspace.asRelativePath(folder, true)} (${CONFIG_SUFFIX} is added)`,
        value: suggestion,
        ignoreFocusOut: true,
        validateInput: (v) => {
          const stem = v.trim().replace(/\.distill\.json$/i, '');
          if (!stem) return 'Enter a name';
          if (/[\\/:*?"<>|]/.test(stem)) return 'A file name cannot contain \\ / : * ? " < > |';
          return taken(stem) ? `${stem}${CONFIG_SUFFIX} already exists` : undefined;
        },
      }));
    if (!stem) return undefined;
    file = vscode.Uri.joinPath(folder, stem.trim().replace(/\.distill\.json$/i, '') + CONFIG_SUFFIX);
  }
  if (!file) return undefined;
  await vscode.workspace.fs.writeFile(file, Buffer.from(templateText(template, configStem(file.fsPath))));
  await vscode.window.showTextDocument(file, { preview: false });
  return file;
}

/**
 * Replaces a trained teacher (`source: "train"`, its model and training) by the one an earlier run
 * saved: `{ "source": "run", "run": "<id>" }`. An edit in the editor, not saved: Undo brings the
 * spec back. Without `runId`, the newest finished run of the config that saved a teacher.
 */
async function reuseTeacher(s: Services, uri: vscode.Uri, runId: string | undefined): Promise<string | undefined> {
  const withTeacher = s.runIndex
    .runsForConfig(uri)
    .filter((r) => r.manifest.status === 'done' && fs.existsSync(path.join(r.dir, MODELS, 'teacher', 'model.json')));
  const run = runId ? withTeacher.find((r) => r.manifest.id === runId) : withTeacher[0];
  if (!run) {
    void vscode.window.showInformationMessage(`${path.basename(uri.fsPath)} has no finished run with a saved teacher yet.`);
    return undefined;
  }
  const document = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(document, { preview: false });
  const tree = parseTree(document.getText());
  const teacher = tree && findNodeAtLocation(tree, ['teacher']);
  if (!teacher) {
    void vscode.window.showWarningMessage(`${path.basename(uri.fsPath)} has no "teacher" section to replace.`);
    return undefined;
  }
  const range = new vscode.Range(document.positionAt(teacher.offset), document.positionAt(teacher.offset + teacher.length));
  await editor.edit((b) => b.replace(range, `{ "source": "run", "run": ${JSON.stringify(run.manifest.id)} }`));
  notify('info', `The teacher now comes from ${run.manifest.id}: the next run skips training it. Undo (Ctrl+Z) brings the model back.`);
  return run.manifest.id;
}

async function stop(s: Services, arg: unknown): Promise<number> {
  let jobs = s.manager.jobs.filter((j) => j.state !== 'ended');
  if (isQueuedNode(arg)) jobs = jobs.filter((j) => j === arg.job);
  else if (isRunNode(arg)) {
    const job = s.manager.jobForRun(arg.entry.dir);
    if (!job) {
      if (arg.entry.manifest.status === 'running') {
        void vscode.window.showInformationMessage(`${arg.entry.manifest.id} was started outside this window (pid ${arg.entry.manifest.pid ?? '?'}); stop it there.`);
      }
      return 0;
    }
    jobs = [job];
  } else if (isSeedGroupNode(arg)) {
    jobs = jobs.filter((j) => j.group?.id === arg.id);
  } else if (isExperimentNode(arg)) {
    jobs = jobs.filter((j) => s.manager.jobsForConfig(arg.configPath).includes(j));
  } else if (arg instanceof vscode.Uri || typeof arg === 'string') {
    // A config (stop its runs) or a run folder (stop that run).
    const p = arg instanceof vscode.Uri ? arg.fsPath : arg;
    const forRun = s.manager.jobForRun(p);
    jobs = isConfigPath(p) ? jobs.filter((j) => s.manager.jobsForConfig(p).includes(j)) : forRun ? [forRun] : [];
  } else if (jobs.length > 1) {
    const picked = await vscode.window.showQuickPick(
      jobs.map((job) => ({ label: job.name, description: job.state === 'queued' ? 'queued' : `${Math.floor(100 * job.fraction())}%`, detail: job.configPath, job })),
      { placeHolder: 'Stop which runs?', canPickMany: true },
    );
    jobs = picked?.map((p) => p.job) ?? [];
  }
  if (!jobs.length && arg === undefined) void vscode.window.showInformationMessage('No Distill Lab run is in progress.');
  for (const job of jobs) s.manager.cancel(job);
  return jobs.length;
}

async function validate(s: Services, uri: vscode.Uri): Promise<Problem[]> {
  const document = await vscode.workspace.openTextDocument(uri);
  const problems = s.diagnostics.validateNow(document);
  const name = path.basename(uri.fsPath);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  if (!problems.length) {
    void vscode.window.showInformationMessage(`${name} is valid.`);
    return problems;
  }
  await vscode.window.showTextDocument(document, { preview: false, preserveFocus: false });
  const count = [errors && `${errors} error${errors === 1 ? '' : 's'}`, warnings && `${warnings} warning${warnings === 1 ? '' : 's'}`].filter(Boolean).join(' and ');
  notify(errors ? 'error' : 'warning', `${name} has ${count}.`, {
    'Show Problems': () => vscode.commands.executeCommand('workbench.actions.view.problems'),
  });
  return problems;
}
