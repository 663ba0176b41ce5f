#!/usr/bin/env node
// The web pages are static files: the build copies src/ui/public next to the compiled UI module (dist/ui/public).
const { cpSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const target = join(root, 'dist', 'ui', 'public');
rmSync(target, { recursive: true, force: true });
cpSync(join(root, 'src', 'ui', 'public'), target, { recursive: true });
