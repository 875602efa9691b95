// Makes a component from a core module written against the canonical ABI by hand, as
// `wasm-tools component embed` + `component new` do, with jco's bundled wasm-tools (npm
// @bytecodealliance/jco, installed by scripts/setup):
//   node scripts/component-new.mjs CORE.wasm WIT WORLD-NAME OUT.wasm [utf8|utf16|compact-utf16
//     [FEATURE,...]]
// FEATUREs are WIT @unstable features to include (wasi:http's informational-outbound-responses).
// WIT is a .wit file, passed as text, or a directory with its dependencies under deps/, read by
// path (jco's wasm-tools reads files through preview2-shim: jco-preopens.mjs grants it the root).
import fs from 'node:fs';
import path from 'node:path';
import './jco-preopens.mjs';

const [core, wit, world, output, encoding = 'utf8', features = ''] = process.argv.slice(2);
if (!core || !wit || !world || !output) {
  console.error('usage: component-new.mjs CORE.wasm WORLD.wit WORLD-NAME OUT.wasm [ENCODING]');
  process.exit(2);
}
let jco;
try {
  jco = await import('@bytecodealliance/jco');
} catch {
  console.error('component-new: @bytecodealliance/jco is not installed (run scripts/setup)');
  process.exit(1);
}
try {
  const embedded = await jco.componentEmbed({
    binary: fs.readFileSync(core),
    ...(fs.statSync(wit).isDirectory()
      ? { witPath: path.resolve(wit) }
      : { witSource: fs.readFileSync(wit, 'utf8') }),
    world,
    stringEncoding: encoding,
    ...(features ? { features: { tag: 'list', val: features.split(',') } } : {}),
  });
  fs.writeFileSync(output, await jco.componentNew(embedded));
} catch (error) {
  console.error(`component-new: ${core}: ${String(error.message ?? error)}`);
  process.exit(1);
}
