#!/usr/bin/env node
// The npm registry reachable here serves only this machine's platform builds of native optional packages
// (msgpackr-extract, unrs-resolver). npm then leaves the other platforms out of package-lock.json, and
// `npm ci` refuses the lock ("Missing: … from lock file"). This adds a stub entry (version, os, cpu,
// optional) for each missing platform package, so `npm ci` accepts the lock and skips them as it would on
// any machine of another platform. Run it after every `npm install` that changes the lock.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x', 'mips64el'];

const path = join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(path, 'utf8'));
let added = 0;
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location}/node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (lock.packages[nested] || lock.packages[hoisted]) continue;
    const parts = name.split('/').pop().split('-');
    const stub = { version, optional: true };
    if (entry.dev) stub.dev = true;
    const os = OS.find((candidate) => parts.includes(candidate));
    const cpu = CPU.find((candidate) => parts.includes(candidate)) ?? (parts.includes('arm') ? 'arm' : undefined);
    if (os) stub.os = [os];
    if (cpu) stub.cpu = [cpu];
    lock.packages[hoisted] = stub;
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`package-lock.json: ${added} platform stub(s) added\n`);
