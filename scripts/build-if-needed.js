#!/usr/bin/env node
// `npm start` must work straight after `npm ci`: compile when dist/ is missing or older than the sources.
const { statSync, readdirSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

const root = join(__dirname, '..');
const entry = join(root, 'dist', 'main.js');

function newestMtime(dir) {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    // Only TypeScript is compiled: the web pages (src/ui/public) are copied below, never a reason to recompile.
    const mtime = item.isDirectory() ? newestMtime(path) : item.name.endsWith('.ts') ? statSync(path).mtimeMs : 0;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

const sources = ['src']
  .map((dir) => join(root, dir))
  .filter(existsSync)
  .reduce((newest, dir) => Math.max(newest, newestMtime(dir)), 0);

if (!existsSync(entry) || statSync(entry).mtimeMs < sources) {
  process.stderr.write('switchboard: compiling TypeScript to dist/ ...\n');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
}
// The web pages are copied on every start: cheap, and never stale after an edit.
require('./copy-ui-assets');
