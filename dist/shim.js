// Runs the jobtoken binary built for this machine: the one shim of the GitHub
// action (action.yml: main, post) and the Azure Pipelines task (task.json:
// execution, postjobexecution). The release tree around it holds
// bin/<platform>/jobtoken[.exe] and SHA256SUMS.
//
// It checks the binary against SHA256SUMS, then starts it with the stage
// ("main" or "post") as its only argument, this process's environment
// untouched, and stdin, stdout and stderr inherited, so every byte the binary
// prints reaches the runner or agent as the binary wrote it. It passes on
// SIGINT and SIGTERM, waits for the binary, and exits with its exit code.
//
// The host (GITHUB_ACTIONS=true, TF_BUILD=True) matters only to how the shim
// reports its own failures: one line, as an ::error:: or a task.logissue plus
// task.complete, never a stack trace.
//
// No dependencies, on purpose: azure-pipelines-task-lib would strip INPUT_*,
// ENDPOINT_* and SECRET_* from the environment the binary needs, and the
// action must run as committed on Node 20 and 24.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawn } = require('child_process');

// The platforms a release ships, as Node names them (win32 → windows);
// pkg/release.Platforms holds the same list.
const PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'windows-x64', 'windows-arm64'];
const SUMS = 'SHA256SUMS';
const PIN = 'pin a release: uses: jobtoken/jobtoken@v1, or the full commit SHA of a release, ' +
  'or the container variant jobtoken/jobtoken/container@v1 on a Linux runner; ' +
  'on Azure Pipelines, install the .vsix of a release';

class ShimError extends Error {}

function host(env) {
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  if (/^true$/i.test(env.TF_BUILD || '')) return 'azure';
  return 'local';
}

// GitHub's escaping of a workflow command's data (the runner unescapes
// %25, %0D and %0A), so a message can never start a second command.
function escapeGitHub(s) {
  return String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

// The agent's escaping of logging-command values.
function escapeAzure(s) {
  return String(s).replace(/%/g, '%AZP25').replace(/;/g, '%3B').replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A').replace(/]/g, '%5D');
}

// fail reports one line the way this host shows a step's error and sets a
// failing exit code. It does not call process.exit, so that what it wrote
// to a pipe is flushed first.
function fail(message) {
  const line = 'jobtoken: ' + message;
  switch (host(process.env)) {
    case 'github':
      process.stdout.write('::error::' + escapeGitHub(line) + '\n');
      break;
    case 'azure':
      process.stdout.write('##vso[task.logissue type=error]' + escapeAzure(line) + '\n');
      process.stdout.write('##vso[task.complete result=Failed]' + escapeAzure(line) + '\n');
      break;
    default:
      process.stderr.write(line + '\n');
  }
  process.exitCode = 1;
}

function exists(p) {
  try {
    fs.statSync(p);
    return true;
  } catch (e) {
    return false;
  }
}

// readSums returns SHA256SUMS as a Map of path → hex, or null when the file
// is missing.
function readSums(file, platform) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw new ShimError('cannot read ' + SUMS + ' (platform ' + platform + '): ' + e.message);
  }
  const sums = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      throw new ShimError(SUMS + ' line ' + (i + 1) + ' is not "<sha256>  <path>" (platform ' + platform +
        '): the release tree is damaged; ' + PIN);
    }
    sums.set(m[2], m[1]);
  }
  return sums;
}

// sha256 hashes a file through one small buffer: reading a 9 MB binary
// whole costs several times more, in page faults, than hashing it.
function sha256(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(128 * 1024);
    const h = crypto.createHash('sha256');
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) {
      h.update(n === buf.length ? buf : buf.subarray(0, n));
    }
    return h.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

// platformOf names this machine as bin/ does: <os>-<arch> in Node's names,
// win32 called windows.
function platformOf() {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'windows' }[process.platform] || process.platform;
  return { os, platform: os + '-' + process.arch };
}

// locate finds and verifies the binary for this machine.
function locate(root) {
  const { os, platform } = platformOf();
  const sums = readSums(path.join(root, SUMS), platform);
  if (sums === null) {
    if (!exists(path.join(root, 'bin'))) {
      throw new ShimError('this is a source ref of jobtoken, with no prebuilt binaries (no bin/ or ' + SUMS +
        ' in ' + root + '; platform ' + platform + '): branches such as @main hold only the source; ' + PIN);
    }
    throw new ShimError(SUMS + ' is missing from ' + root + ', so the binary for platform ' + platform +
      ' cannot be verified: the release tree is incomplete; ' + PIN);
  }
  if (!PLATFORMS.includes(platform)) {
    throw new ShimError('no binary for platform ' + platform + ': jobtoken ships ' + PLATFORMS.join(', ') +
      '; run the job on one of those');
  }
  const rel = 'bin/' + platform + '/jobtoken' + (os === 'windows' ? '.exe' : '');
  const want = sums.get(rel);
  if (!want) {
    throw new ShimError('this release tree has no binary for platform ' + platform + ' (' + SUMS +
      ' does not list ' + rel + '); ' + PIN);
  }
  const bin = path.join(root, ...rel.split('/'));
  let got;
  try {
    got = sha256(bin);
  } catch (e) {
    if (e.code === 'ENOENT') {
      throw new ShimError('the binary for platform ' + platform + ' is missing (' + rel + ', listed in ' + SUMS +
        '): the release tree is incomplete; run the job again, or ' + PIN);
    }
    throw new ShimError('cannot read the binary for platform ' + platform + ' (' + rel + '): ' + e.message);
  }
  if (got !== want) {
    throw new ShimError('the binary for platform ' + platform + ' does not match its SHA-256 in ' + SUMS +
      ' (' + rel + ': sha256 ' + got + ', listed ' + want + '), so it was not run: the download is damaged ' +
      'or was altered; run the job again, and ' + PIN);
  }
  return { platform, rel, bin };
}

function run(stage) {
  let found;
  try {
    found = locate(path.join(__dirname, '..'));
  } catch (e) {
    fail(e instanceof ShimError ? e.message
      : 'the ' + stage + ' step failed to start (platform ' + platformOf().platform + '): ' + (e && e.message));
    return;
  }
  const { platform, rel, bin } = found;
  if (process.platform !== 'win32') {
    // A .vsix (a zip) or an artifact loses file modes.
    try {
      if ((fs.statSync(bin).mode & 0o111) !== 0o111) fs.chmodSync(bin, 0o755);
    } catch (e) { /* a read-only tree: try to run it anyway */ }
  }
  let child;
  try {
    child = spawn(bin, [stage], { stdio: 'inherit', env: process.env, windowsHide: true });
  } catch (e) {
    fail('failed to start ' + rel + ' (platform ' + platform + '): ' + e.message);
    return;
  }
  // The runner cancels a step with SIGINT, then SIGTERM, sent to this
  // process only: pass them on so that the binary revokes what it minted,
  // and wait for it. On Windows the console's Ctrl+C reaches the binary by
  // itself, and child.kill would terminate it outright, so the shim only
  // keeps waiting there.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      if (process.platform === 'win32') return;
      try { child.kill(sig); } catch (e) { /* already gone */ }
    });
  }
  child.on('error', (e) => fail('failed to start ' + rel + ' (platform ' + platform + '): ' + e.message));
  child.on('exit', (code, signal) => {
    if (code !== null) {
      process.exit(code);
    }
    fail('the ' + stage + ' step (' + rel + ') was stopped by ' + signal);
  });
}

module.exports = run;
