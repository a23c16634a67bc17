// Runs the jobtoken binary built for this agent's platform, with the agent's
// environment and the stage ("main" or "post") as first argument, and exits
// with its exit code. No dependencies on purpose: azure-pipelines-task-lib
// would strip INPUT_*, ENDPOINT_* and SECRET_* from the environment the
// binary needs.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const SUPPORTED = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'windows-x64'];
const OS = { linux: 'linux', darwin: 'darwin', win32: 'windows' };

// escape is the agent's escaping for logging-command values.
function escape(s) {
  return String(s)
    .replace(/%/g, '%AZP25')
    .replace(/;/g, '%3B')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A')
    .replace(/]/g, '%5D');
}

function fail(message) {
  process.stdout.write('##vso[task.logissue type=error]' + escape('jobtoken: ' + message) + '\n');
  process.stdout.write('##vso[task.complete result=Failed]' + escape('jobtoken: ' + message) + '\n');
  process.exit(1);
}

module.exports = function run(stage) {
  const platform = (OS[process.platform] || process.platform) + '-' + process.arch;
  if (!SUPPORTED.includes(platform)) {
    fail('no binary for this agent\'s platform ' + platform + '; jobtoken ships ' + SUPPORTED.join(', '));
  }
  const bin = path.join(__dirname, 'bin', platform + (platform.startsWith('windows-') ? '.exe' : ''));
  if (!fs.existsSync(bin)) {
    fail('the binary for ' + platform + ' is missing from the task folder (' + bin + '); reinstall the extension');
  }
  if (process.platform !== 'win32') {
    // A .vsix is a zip; an agent that unpacks it may drop the execute bit.
    try { fs.chmodSync(bin, 0o755); } catch (e) { /* read-only task folder: try anyway */ }
  }
  const child = spawn(bin, [stage].concat(process.argv.slice(2)), { stdio: 'inherit', env: process.env, windowsHide: true });
  // The agent cancels a step with SIGINT, then SIGTERM: pass them on so the
  // binary can stop cleanly instead of being orphaned.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => { try { child.kill(sig); } catch (e) { /* already gone */ } });
  }
  child.on('error', (err) => fail('failed to run ' + bin + ': ' + err.message));
  child.on('exit', (code, signal) => {
    if (signal) {
      fail('the ' + stage + ' step was stopped by ' + signal);
    }
    process.exit(code === null ? 1 : code);
  });
};
