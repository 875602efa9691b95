// Preloaded into jco commands that read WIT from a directory (NODE_OPTIONS=--import=THIS):
// jco's bundled wasm-tools reads files through preview2-shim's WASI filesystem, which has no
// preopened directory unless one is set. Every copy of the shim npm installed is given the
// root, since jco and its transpiler each import their own. Only on the main thread: the shim's
// I/O worker inherits NODE_OPTIONS, and importing the shim there would start another worker, and
// so on until memory runs out.
import { existsSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const modules = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');
const shims = [join(modules, '@bytecodealliance', 'preview2-shim')];
for (const scope of ['jco', 'jco-transpile', 'preview3-shim']) {
  shims.push(join(modules, '@bytecodealliance', scope, 'node_modules', '@bytecodealliance',
                  'preview2-shim'));
}
for (const shim of isMainThread ? shims : []) {
  for (const file of ['dist/nodejs/filesystem.js', 'lib/nodejs/filesystem.js']) {
    const path = join(shim, file);
    if (!existsSync(path)) continue;
    const { _setPreopens } = await import(pathToFileURL(path));
    if (_setPreopens) _setPreopens({ '/': '/' });
  }
}
