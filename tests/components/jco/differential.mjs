// Differential test of components against jco (issue 14): the same component is run under
// `kiln run --invoke` and under jco's transpiled JavaScript (`jco transpile`, run by node), and
// every call must give the same value.
//
//   node differential.mjs KILN COMPONENT.wasm CASES.mjs
//
// CASES.mjs exports `cases`: { fn: 'wit-name', params: [type...], result: type, args: [js...] }.
// The arguments are JavaScript values as jco passes them; kiln's `--invoke` text is written from
// them in WAVE, and jco's result is written in WAVE by the result type. Types:
//   'bool' 'u8'..'u64' 's8'..'s64' 'f32' 'f64' 'char' 'string'
//   ['list', T] ['option', T] ['result', T|null, E|null] ['tuple', T...]
//   ['record', [name, T]...] ['variant', [name, T|null]...] ['enum', name...] ['flags', name...]
// jco's JavaScript conventions (its README): records and flags are objects with camelCase keys,
// variants {tag, val}, enums their case's name, options undefined or the value, list<u8> a
// Uint8Array, 64-bit integers BigInt, a returned result's err thrown (with its `payload`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [kiln, componentPath, casesPath] = process.argv.slice(2);
if (!kiln || !componentPath || !casesPath) {
  console.error('usage: differential.mjs KILN COMPONENT.wasm CASES.mjs');
  process.exit(2);
}

const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const keywords = new Set(['true', 'false', 'inf', 'nan', 'some', 'none', 'ok', 'err']);
const caseLabel = (name) => (keywords.has(name) ? `%${name}` : name);

function escape(text, quote) {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (ch === '\\') out += '\\\\';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === quote) out += `\\${quote}`;
    else if (c < 0x20 || c === 0x7f) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out;
}

// The shortest decimal that reads back as the same float (f32: through Math.fround).
function float(v, bits) {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (bits === 64) return Object.is(v, -0) ? '-0' : String(v);
  for (let p = 1; p <= 9; ++p) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return Object.is(v, -0) ? '-0' : String(s);
  }
  return String(v);
}

// A JavaScript value (jco's form) of `type`, in WAVE.
function wave(value, type) {
  if (typeof type === 'string') {
    switch (type) {
      case 'bool':
        return value ? 'true' : 'false';
      case 'f32':
        return float(value, 32);
      case 'f64':
        return float(value, 64);
      case 'char':
        return `'${escape(value, "'")}'`;
      case 'string':
        return `"${escape(value, '"')}"`;
      default:
        return String(value);  // integers, BigInt included
    }
  }
  const [kind, ...parts] = type;
  switch (kind) {
    case 'list':
      return `[${Array.from(value, (v) => wave(v, parts[0])).join(', ')}]`;
    case 'tuple':
      return `(${parts.map((t, i) => wave(value[i], t)).join(', ')})`;
    case 'option':
      return value === undefined || value === null ? 'none' : `some(${wave(value, parts[0])})`;
    case 'result': {
      const [ok, error] = parts;
      const payload = value.tag === 'ok' ? ok : error;
      return payload === null ? value.tag : `${value.tag}(${wave(value.val, payload)})`;
    }
    case 'record':
      return `{${parts.map(([name, t]) => `${name}: ${wave(value[camel(name)], t)}`).join(', ')}}`;
    case 'variant': {
      const [, payload] = parts.find(([name]) => name === value.tag);
      return payload === null
        ? caseLabel(value.tag)
        : `${caseLabel(value.tag)}(${wave(value.val, payload)})`;
    }
    case 'enum':
      return caseLabel(value);
    case 'flags':
      return `{${parts.filter((name) => value[camel(name)]).join(', ')}}`;
    default:
      throw new Error(`unknown type ${JSON.stringify(type)}`);
  }
}

// The component under jco: transpiled into a temporary folder and imported.
const { transpile } = await import('@bytecodealliance/jco');
const { files } = await transpile(fs.readFileSync(componentPath), {
  name: 'component',
  noTypescript: true,
  quiet: true,
});
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-jco-'));
for (const [name, bytes] of Object.entries(files)) {
  fs.mkdirSync(path.dirname(path.join(outDir, name)), { recursive: true });
  fs.writeFileSync(path.join(outDir, name), bytes);
}
const component = await import(pathToFileURL(path.join(outDir, 'component.js')).href);
const { cases } = await import(pathToFileURL(path.resolve(casesPath)).href);

// jco's answer for one call, in WAVE (a returned result's err arrives as a thrown payload).
function underJco(c) {
  const f = component[camel(c.fn)];
  if (typeof f !== 'function') return `jco: no export ${c.fn}`;
  const isResult = Array.isArray(c.result) && c.result[0] === 'result';
  try {
    const value = f(...c.args);
    if (c.result === undefined) return '';
    return wave(isResult ? { tag: 'ok', val: value } : value, c.result);
  } catch (error) {
    if (isResult && error && 'payload' in error) {
      return wave({ tag: 'err', val: error.payload }, c.result);
    }
    return `jco: trap: ${error?.message ?? error}`;
  }
}

let failures = 0;
for (const c of cases) {
  const call = `${c.fn}(${c.params.map((t, i) => wave(c.args[i], t)).join(', ')})`;
  const expected = underJco(c);
  const run = spawnSync(kiln, ['run', '--invoke', call, componentPath], { encoding: 'utf8' });
  const actual = run.status === 0 ? run.stdout.replace(/\n$/, '') : `kiln: exit ${run.status}: ${run.stderr.trim()}`;
  if (actual === expected) {
    console.log(`ok    ${call} => ${actual}`);
  } else {
    ++failures;
    console.log(`FAIL  ${call}\n      jco:  ${expected}\n      kiln: ${actual}`);
  }
}
fs.rmSync(outDir, { recursive: true, force: true });
console.log(`${cases.length - failures} of ${cases.length} calls gave jco's value`);
process.exit(failures === 0 && cases.length > 0 ? 0 : 1);
