#!/usr/bin/env node
// Stands in for a VS Code executable so that @vscode/test-electron's
//   runTests({ vscodeExecutablePath: <this file>, extensionDevelopmentPath, extensionTestsPath, launchArgs })
// works on a machine where desktop VS Code cannot be downloaded (docs/architecture.md §6):
//   1. starts code-server 4.100.3 (repo cache) on a free port with a fresh user-data-dir,
//   2. opens the workbench in headless Chromium (playwright-core) with the extension development
//      and tests paths in the `payload` query, after exposing codeAutomationExit/codeAutomationLog,
//   3. prints the test output and exits with the runner's exit code -- a 0 only counts when the
//      test runner also wrote the completion marker (DISTILL_E2E_MARKER), since a crashed
//      extension host or a test calling process.exit(0) is reported as exit code 0 too.
//
// Arguments (the ones runTests passes; unknown flags are ignored):
//   --extensionDevelopmentPath=<dir> (repeatable)  --extensionTestsPath=<file>
//   --user-data-dir=<dir>  --extensions-dir=<dir>  [folder]
// Env:
//   DISTILL_E2E_MARKER      completion marker path (default: a fresh temp file, forwarded to the
//                           extension host via code-server's environment)
//   DISTILL_E2E_TIMEOUT_MS  overall timeout (default 300000)
//   DISTILL_E2E_VERBOSE=1   echo code-server output and browser console
//   DISTILL_E2E_KEEP=1      keep the temp run folder (logs) after exit
//   DISTILL_CHROMIUM        Chromium binary (default /usr/lib/chromium/chromium)
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/codeServer');

const MARKER_ENV = 'DISTILL_E2E_MARKER';
// The workbench's own info log shares the codeAutomationLog channel with the extension host's
// console (the test output); drop its routine start-up lines unless DISTILL_E2E_VERBOSE is set.
const WORKBENCH_NOISE = new RegExp('^(' + [
  'Resolving connection token', 'Resolved connection token', 'Creating a socket',
  'Ignoring fetching additional builtin extensions', '\\[Service Worker\\]',
  'Updating additional builtin extensions cache', 'ChatSessionStore:', 'Started local extension host', 'Creation of workbench contribution',
].join('|') + ')');

function parseArgs(argv) {
  const out = { devPaths: [], testsPath: undefined, userDataDir: undefined, extensionsDir: undefined, folder: undefined, ignored: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--extensionDevelopmentPath': out.devPaths.push(path.resolve(value())); break;
      case '--extensionTestsPath': out.testsPath = path.resolve(value()); break;
      case '--user-data-dir': out.userDataDir = path.resolve(value()); break;
      case '--extensions-dir': out.extensionsDir = path.resolve(value()); break;
      case '--folder-uri': {
        const v = value();
        out.folder = v.startsWith('file://') ? new URL(v).pathname : v;
        break;
      }
      default:
        if (!a.startsWith('-')) out.folder = path.resolve(a);
        else out.ignored.push(a);
    }
  }
  return out;
}

/** Why the marker does not prove a complete pass, or undefined when it does. */
function checkMarker(marker) {
  if (!fs.existsSync(marker)) return 'wrote no completion marker';
  try {
    const m = JSON.parse(fs.readFileSync(marker, 'utf8'));
    if (typeof m.failures === 'number' && m.failures > 0) return `the marker records ${m.failures} failure(s)`;
    if (typeof m.passes === 'number' && m.passes === 0) return 'the marker records no passing test';
  } catch {
    // not JSON: its existence is the signal
  }
  return undefined;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.testsPath || args.devPaths.length === 0) {
    console.error('usage: code-server-launcher.js --extensionDevelopmentPath=<dir> --extensionTestsPath=<file> [folder]');
    return 2;
  }
  const verbose = !!process.env.DISTILL_E2E_VERBOSE;
  const timeoutMs = Number(process.env.DISTILL_E2E_TIMEOUT_MS || 300_000);
  const runDir = h.mkTemp('distill-e2e-');
  const marker = process.env[MARKER_ENV] || path.join(runDir, 'tests-complete.json');
  h.rmrf(marker); // a stale marker must never count
  if (verbose && args.ignored.length) console.error('[launcher] ignoring', args.ignored.join(' '));

  let server;
  let browser;
  let finished = false;
  const cleanup = async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    if (!process.env.DISTILL_E2E_KEEP) h.rmrf(runDir);
    else console.error(`[launcher] kept ${runDir}`);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (finished) return;
      finished = true;
      console.error(`[launcher] ${sig}: stopping code-server`);
      cleanup().finally(() => process.exit(130));
    });
  }

  const t0 = Date.now();
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
  });

  const run = async () => {
    server = await h.startCodeServer({
      runDir,
      userDataDir: args.userDataDir,
      extensionsDir: args.extensionsDir,
      env: { [MARKER_ENV]: marker },
      removeIfOrphaned: process.env.DISTILL_E2E_KEEP ? [] : [runDir],
      onOutput: verbose ? (s) => process.stderr.write(s.replace(/^/gm, '[code-server] ')) : undefined,
    });
    const tReady = Date.now();
    if (verbose) console.error(`[launcher] code-server ready in ${tReady - t0} ms`);
    browser = await h.launchChromium({ home: path.join(runDir, 'chromium') });
    if (verbose) console.error(`[launcher] chromium up in ${Date.now() - tReady} ms`);
    const page = await browser.newPage();
    const exitCode = new Promise((resolve) => {
      // The workbench calls these when it runs extension tests "from the CLI".
      page.exposeFunction('codeAutomationLog', (type, message) => {
        const text = Array.isArray(message) ? message.join(' ') : String(message);
        if (!verbose && WORKBENCH_NOISE.test(text)) return;
        (type === 'error' || type === 'warn' ? process.stderr : process.stdout).write(text.endsWith('\n') ? text : text + '\n');
      });
      page.exposeFunction('codeAutomationExit', (code) => {
        if (verbose) console.error(`[launcher] codeAutomationExit(${code}) at ${Date.now() - t0} ms`);
        resolve({ code: Number(code) });
      });
    });
    if (verbose) page.on('console', (m) => console.error(`[browser ${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => console.error('[launcher] page error:', e.message));
    server.exited.then(({ code, signal }) => {
      if (!finished) console.error(`[launcher] code-server exited unexpectedly (${code ?? signal})`);
    });

    const payload = [
      ...args.devPaths.map((p) => ['extensionDevelopmentPath', h.remoteUri(server.port, p)]),
      ['extensionTestsPath', h.remoteUri(server.port, args.testsPath)],
    ];
    const url = h.workbenchUrl(server.url, { folder: args.folder, payload });
    if (verbose) console.error('[launcher] opening', url);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    const serverGone = server.exited.then(({ code, signal }) => ({ code: 1, crashed: `code-server exited (${code ?? signal})` }));
    return Promise.race([exitCode, serverGone]);
  };

  let result;
  try {
    result = await Promise.race([run(), timeout]);
  } catch (e) {
    console.error('[launcher] error:', e && e.stack ? e.stack : e);
    result = { code: 1 };
  }
  clearTimeout(timer);
  finished = true;

  let code = result.code ?? 1;
  if (result.timedOut) {
    console.error(`[launcher] timed out after ${timeoutMs} ms`);
    code = 1;
  } else if (result.crashed) {
    console.error(`[launcher] ${result.crashed}`);
    code = 1;
  } else if (code === 0) {
    const problem = checkMarker(marker);
    if (problem) {
      console.error(`[launcher] runner reported exit 0 but ${problem} (${MARKER_ENV}=${marker}): ` +
        'the extension host crashed, a test exited early or no test ran; counting as failure');
      code = 1;
    }
  }
  if (code !== 0 && server) {
    console.error(`[launcher] last code-server output:\n${server.output().slice(-3000)}`);
  }
  console.error(`[launcher] done in ${((Date.now() - t0) / 1000).toFixed(1)}s, exit ${code}`);
  await cleanup();
  return code;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
