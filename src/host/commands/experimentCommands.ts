// Commands on experiments (configs): new from a template, open an example, run, stop, validate.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Problem } from '../../core/config/parse';
import { notify, registerCommand as register } from '../notify';
import type { JobOutcome } from '../runJob';
import { CONFIG_SUFFIX, configStem, isConfigPath } from '../runsLocation';
import { type Template, TEMPLATES, templateText } from '../templates';
import { isExperimentNode, isQueuedNode, isRunNode } from '../treeNodes';
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
    registerCommand('distillLab.openExample', (templateId?: unknown) => openExample(typeof templateId === 'string' ? templateId : undefined)),
    registerCommand('distillLab.run', async (arg?: unknown): Promise<JobOutcome | undefined> => {
      const uri = await resolveConfig(arg, 'Run which experiment?');
      return uri && s.manager.run(uri);
    }),
    registerCommand('distillLab.stop', (arg?: unknown) => stop(s, arg)),
    registerCommand('distillLab.validate', async (arg?: unknown) => {
      const uri = await resolveConfig(arg, 'Validate which experiment?');
      return uri && validate(s, uri);
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
  const picked = await vscode.window.showQuickPick(
    TEMPLATES.map((t) => ({ label: t.label, detail: t.detail, template: t })),
    { title, placeHolder: 'Choose a template' },
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

/** Writes an example into the workspace (or opens it, if it is there already). */
async function openExample(templateId: string | undefined): Promise<vscode.Uri | undefined> {
  const template = await pickTemplate(templateId, 'Open an Example Experiment');
  if (!template) return undefined;
  const folder = await targetFolder(undefined);
  if (!folder) return newExperiment(undefined, { template: template.id });
  const file = vscode.Uri.joinPath(folder, template.id + CONFIG_SUFFIX);
  if (!fs.existsSync(file.fsPath)) await vscode.workspace.fs.writeFile(file, Buffer.from(templateText(template, template.id)));
  await vscode.window.showTextDocument(file, { preview: false });
  return file;
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
