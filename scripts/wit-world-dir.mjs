// Makes a WIT directory for jco (component-new.mjs, jco componentize): OUT/world.wit (a copy of
// WORLD) with the WASI 0.2 packages of WASI-DIR (../shared/wit/wasi-0.2.12) under OUT/deps/.
//   node scripts/wit-world-dir.mjs OUT WORLD.wit WASI-DIR [--http-version VERSION]
// --http-version renames the wasi:http package: componentize-js's JavaScript engine exports
// wasi:http/incoming-handler@0.2.10, so a world it builds must name that version (the
// interfaces are the same; `use`s of the other packages keep their version).
import fs from 'node:fs';
import path from 'node:path';

const [out, world, wasi, flag, httpVersion] = process.argv.slice(2);
if (!out || !world || !wasi || (flag && (flag !== '--http-version' || !httpVersion))) {
  console.error('usage: wit-world-dir.mjs OUT WORLD.wit WASI-DIR [--http-version VERSION]');
  process.exit(2);
}
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'deps'), { recursive: true });
fs.copyFileSync(world, path.join(out, 'world.wit'));
for (const pkg of fs.readdirSync(wasi)) {
  const from = path.join(wasi, pkg);
  if (!fs.statSync(from).isDirectory()) continue;
  const to = path.join(out, 'deps', pkg);
  fs.mkdirSync(to);
  for (const file of fs.readdirSync(from).filter((f) => f.endsWith('.wit'))) {
    let text = fs.readFileSync(path.join(from, file), 'utf8');
    if (pkg === 'http' && httpVersion) {
      text = text.replace(/^package wasi:http@[0-9.]+;/m, `package wasi:http@${httpVersion};`);
    }
    fs.writeFileSync(path.join(to, file), text);
  }
}
