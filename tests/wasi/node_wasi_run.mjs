// Runs a WASI preview1 command under node's built-in WASI, as the reference for kiln's output.
// usage: node node_wasi_run.mjs [--dir HOST::GUEST]... [--env NAME=VALUE]... MODULE [ARGS...]
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import { argv, exit } from 'node:process';

const preopens = {};
const env = {};
let i = 2;
for (; i < argv.length; ++i) {
  if (argv[i] === '--dir') {
    const [host, guest] = argv[++i].split('::');
    preopens[guest ?? host] = host;
  } else if (argv[i] === '--env') {
    const [name, ...value] = argv[++i].split('=');
    env[name] = value.join('=');
  } else {
    break;
  }
}
const module = argv[i];
const wasi = new WASI({ version: 'preview1', args: [module, ...argv.slice(i + 1)], env, preopens, returnOnExit: true });
const wasm = await WebAssembly.compile(await readFile(module));
const instance = await WebAssembly.instantiate(wasm, wasi.getImportObject());
exit(wasi.start(instance));
