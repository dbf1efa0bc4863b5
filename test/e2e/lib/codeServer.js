// Shared harness pieces for the extension-host tests (test/e2e) and the UI tests (test/ui):
// start code-server 4.100.3 from the repo cache on a free port with a fresh profile, launch
// headless Debian Chromium through playwright-core, copy the fixture workspace. docs/architecture.md §6.
// Plain CommonJS so the launcher runs without a build step; types in codeServer.d.ts.
'use strict';

const cp = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const CODE_SERVER_VERSION = '4.100.3';
const CACHE_DIR = process.env.CODE_SERVER_CACHE || path.join(REPO_ROOT, '.cache', `code-server-${CODE_SERVER_VERSION}`);
const FIXTURE_WORKSPACE = path.join(REPO_ROOT, 'test', 'fixtures', 'workspace');

// /usr/bin/chromium is a wrapper script that adds Google API keys; launch the real binary.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-crash-reporter',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

const DEFAULT_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
};

function log(...args) {
  if (process.env.DISTILL_E2E_VERBOSE) console.error('[harness]', ...args);
}

function codeServerEntry() {
  return path.join(CACHE_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

/** Installs code-server into the cache when its stamp is missing (scripts/setup-code-server.sh). */
function ensureCodeServer() {
  if (fs.existsSync(path.join(CACHE_DIR, '.install-complete')) && fs.existsSync(codeServerEntry())) {
    return codeServerEntry();
  }
  console.error(`[harness] code-server ${CODE_SERVER_VERSION} not cached; running scripts/setup-code-server.sh`);
  const r = cp.spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'setup-code-server.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error('scripts/setup-code-server.sh failed (apt packages missing? run .ci/setup.sh)');
  return codeServerEntry();
}

function chromiumPath() {
  const candidates = [process.env.DISTILL_CHROMIUM, '/usr/lib/chromium/chromium', '/usr/bin/chromium'];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  throw new Error('Chromium not found: apt-get install chromium (or set DISTILL_CHROMIUM)');
}

/** A free TCP port on 127.0.0.1 (closed again before return; tiny race accepted). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

function mkTemp(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function rmrf(p) {
  try {
    fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    log('rm failed', p, e);
  }
}

/** Copies test/fixtures/workspace to a fresh temp folder (tests never dirty the repo). */
function copyFixtureWorkspace(src = FIXTURE_WORKSPACE) {
  const dest = path.join(mkTemp('distill-ws-'), path.basename(src));
  fs.cpSync(src, dest, { recursive: true });
  return dest;
}

function writeUserSettings(userDataDir, extra = {}) {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'settings.json');
  let current = {};
  if (fs.existsSync(file)) {
    try {
      current = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      current = {};
    }
  }
  fs.writeFileSync(file, JSON.stringify({ ...DEFAULT_SETTINGS, ...current, ...extra }, null, 2));
}

/** Environment for a code-server process: no gallery, and XDG dirs kept out of $HOME. */
function codeServerEnv(runDir, env = {}) {
  const base = { ...process.env };
  // PORT overrides --bind-addr; PASSWORD/HASHED_PASSWORD change auth; VSCODE_IPC_HOOK_CLI (set in
  // a VS Code terminal) makes code-server hand its arguments to that instance instead of starting.
  for (const k of Object.keys(base)) {
    if (/^(VSCODE_|ELECTRON_)/.test(k) || ['PORT', 'PASSWORD', 'HASHED_PASSWORD', 'GITHUB_TOKEN'].includes(k)) delete base[k];
  }
  return {
    ...base,
    EXTENSIONS_GALLERY: '{}',
    XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(runDir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(runDir, 'xdg-cache'),
    ...env,
  };
}

/**
 * Starts code-server in its own process group; resolves when it prints "HTTP server listening".
 * @param {import('./codeServer').StartOptions} opts
 */
async function startCodeServer(opts = {}) {
  const entry = ensureCodeServer();
  const runDir = opts.runDir || mkTemp('distill-cs-');
  const userDataDir = opts.userDataDir || path.join(runDir, 'user-data');
  const extensionsDir = opts.extensionsDir || path.join(runDir, 'extensions');
  fs.mkdirSync(userDataDir, { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  writeUserSettings(userDataDir, opts.settings);
  const configFile = path.join(runDir, 'config.yaml');
  fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  const port = opts.port || (await freePort());
  const logFile = opts.logFile || path.join(runDir, 'code-server.log');
  const args = [
    entry,
    '--config', configFile,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    ...(opts.extraArgs || []),
  ];
  if (opts.folder) args.push(opts.folder);
  log('starting', process.execPath, args.join(' '));
  const out = fs.openSync(logFile, 'a');
  const proc = cp.spawn(process.execPath, args, {
    cwd: runDir,
    env: codeServerEnv(runDir, opts.env),
    detached: true, // own process group: stop() kills the server and its extension hosts
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (d) => {
    const s = d.toString();
    output += s;
    fs.writeSync(out, s);
    if (opts.onOutput) opts.onOutput(s);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);

  if (proc.pid) guardGroup(proc.pid, opts.removeIfOrphaned || []);
  let exited = false;
  const exitPromise = new Promise((resolve) => proc.on('exit', (code, signal) => {
    exited = true;
    resolve({ code, signal });
  }));

  const stop = async () => {
    if (exited || !proc.pid) return;
    for (const sig of ['SIGTERM', 'SIGKILL']) {
      try {
        process.kill(-proc.pid, sig);
      } catch {
        break; // group gone
      }
      const done = await Promise.race([exitPromise.then(() => true), sleep(3000).then(() => false)]);
      if (done) {
        // the server is gone; make sure no straggler of its group lives on
        try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* none */ }
        break;
      }
    }
    try { fs.closeSync(out); } catch { /* closed */ }
  };

  const readyTimeout = opts.readyTimeoutMs || 60_000;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`code-server not ready after ${readyTimeout} ms; log: ${logFile}\n${output.slice(-2000)}`));
    }, readyTimeout);
    const check = () => {
      if (/HTTP server listening/.test(output)) {
        cleanup();
        resolve(undefined);
      }
    };
    const onExit = ({ code, signal }) => {
      cleanup();
      reject(new Error(`code-server exited early (${code ?? signal}); log: ${logFile}\n${output.slice(-2000)}`));
    };
    function cleanup() {
      clearTimeout(timer);
      proc.stdout.off('data', check);
      proc.stderr.off('data', check);
    }
    proc.stdout.on('data', check);
    proc.stderr.on('data', check);
    exitPromise.then(onExit);
    check();
  }).catch(async (e) => {
    await stop();
    throw e;
  });

  const url = `http://127.0.0.1:${port}/`;
  log('code-server ready at', url);
  return {
    port,
    url,
    proc,
    runDir,
    userDataDir,
    extensionsDir,
    logFile,
    output: () => output,
    exited: exitPromise,
    stop,
  };
}

/**
 * code-server runs in its own process group (so its extension hosts and pty hosts can be killed
 * together); make sure that group dies with us: synchronously on our exit, and through a tiny
 * detached watchdog if we are SIGKILLed.
 */
const guardedGroups = new Set();
function guardGroup(pgid, dirs) {
  guardedGroups.add(pgid);
  if (guardedGroups.size === 1) {
    process.on('exit', () => {
      for (const g of guardedGroups) {
        try { process.kill(-g, 'SIGKILL'); } catch { /* gone */ }
      }
    });
  }
  const watchdog = `const [p, g, dirs] = [${process.pid}, ${pgid}, ${JSON.stringify(dirs)}];
    const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
    setInterval(() => {
      if (!alive(-g)) process.exit(0);
      if (!alive(p)) {
        try { process.kill(-g, 'SIGKILL'); } catch {}
        setTimeout(() => {
          for (const d of dirs) try { require('fs').rmSync(d, { recursive: true, force: true }); } catch {}
          process.exit(0);
        }, 500);
      }
    }, 1000);`;
  try {
    cp.spawn(process.execPath, ['-e', watchdog], { detached: true, stdio: 'ignore' }).unref();
  } catch (e) {
    log('watchdog not started', e);
  }
}

/** Runs the code-server CLI once (e.g. --install-extension); resolves with its output. */
function codeServerCli(args, { userDataDir, extensionsDir, runDir } = {}) {
  const entry = ensureCodeServer();
  const dir = runDir || mkTemp('distill-cs-');
  const full = [entry];
  if (userDataDir) full.push('--user-data-dir', userDataDir);
  if (extensionsDir) full.push('--extensions-dir', extensionsDir);
  full.push(...args);
  const r = cp.spawnSync(process.execPath, full, { env: codeServerEnv(dir), encoding: 'utf8', timeout: 120_000 });
  const output = `${r.stdout || ''}${r.stderr || ''}`;
  if (r.status !== 0) throw new Error(`code-server ${args.join(' ')} failed (${r.status ?? r.signal}):\n${output}`);
  return output;
}

/**
 * Headless Chromium through playwright-core. Its XDG dirs go to a temp folder (removed when the
 * browser closes): Chromium otherwise creates ~/.config/chromium/Crash Reports.
 */
async function launchChromium(opts = {}) {
  const { chromium } = require('playwright-core');
  const home = opts.home || mkTemp('distill-chromium-');
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.args || [])],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: path.join(home, 'config'),
      XDG_CACHE_HOME: path.join(home, 'cache'),
    },
    timeout: 60_000,
  });
  browser.on('disconnected', () => rmrf(home));
  return browser;
}

/** Workbench URL with an optional folder and payload (e.g. extension development/test paths). */
function workbenchUrl(base, { folder, payload } = {}) {
  const q = [];
  if (folder) q.push(`folder=${encodeURIComponent(folder).replace(/%2F/g, '/')}`);
  if (payload) q.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  return q.length ? `${base}?${q.join('&')}` : base;
}

/** `vscode-remote://127.0.0.1:<port>/abs/path`: file:// URIs in the payload never start. */
function remoteUri(port, absPath) {
  return `vscode-remote://127.0.0.1:${port}${path.resolve(absPath).split(path.sep).map(encodeURIComponent).join('/')}`;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

module.exports = {
  REPO_ROOT,
  CODE_SERVER_VERSION,
  CACHE_DIR,
  FIXTURE_WORKSPACE,
  CHROMIUM_ARGS,
  DEFAULT_SETTINGS,
  codeServerEntry,
  ensureCodeServer,
  chromiumPath,
  freePort,
  mkTemp,
  rmrf,
  copyFixtureWorkspace,
  writeUserSettings,
  startCodeServer,
  codeServerCli,
  launchChromium,
  workbenchUrl,
  remoteUri,
  sleep,
};
