// Assembles a component written in the component text format into its binary, with jco's
// parser (npm @bytecodealliance/jco, installed by scripts/setup): kiln has no text parser. Core
// modules with Wasm 3.0 instructions that Debian's wat2wasm lacks are assembled with it too.
//   node scripts/component-wat2wasm.mjs IN.wat OUT.wasm
import fs from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: component-wat2wasm.mjs IN.wat OUT.wasm');
  process.exit(2);
}
let parse;
try {
  ({ parse } = await import('@bytecodealliance/jco'));
} catch {
  console.error('component-wat2wasm: @bytecodealliance/jco is not installed (run scripts/setup)');
  process.exit(1);
}
try {
  fs.writeFileSync(output, await parse(fs.readFileSync(input, 'utf8')));
} catch (error) {
  console.error(`component-wat2wasm: ${input}: ${String(error.message ?? error).split('\n')[0]}`);
  process.exit(1);
}
