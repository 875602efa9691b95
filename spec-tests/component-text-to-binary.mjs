// Turns the component model's conformance tests (.wast, in the component text format) into
// .wast files whose components are all in binary form, `(component $id binary "...")`, which
// kiln-spectest reads (kiln has no text-format parser; issue 14 allows jco's at test time).
//
//   node spec-tests/component-text-to-binary.mjs SOURCE_DIR OUTPUT_DIR [WASM_DIR]
//
// With WASM_DIR, every component it encodes is also written there as a .wasm file (the
// component fuzzer's seeds: scripts/fuzz).
// Every directive is copied as written, except each text-format `(component ...)` (at the top
// level or as the first argument of an assert_*), which is replaced by its encoding from jco's
// `parse` (wasm-tools' text parser, npm @bytecodealliance/jco). A component the parser refuses is
// replaced by `(component $id text-refused "message")`, so the runner can name it; a quoted
// component (`(component quote ...)`, a test of the text format itself) is left as it is.
import { parse } from '@bytecodealliance/jco';
import fs from 'node:fs';
import path from 'node:path';

// The end (exclusive) of the S-expression, string or atom that starts at `i`.
function skipSpaceAndComments(text, i) {
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) ++i;
    if (text.startsWith(';;', i)) {
      while (i < text.length && text[i] !== '\n') ++i;
    } else if (text.startsWith('(;', i)) {
      let depth = 0;
      while (i < text.length) {
        if (text.startsWith('(;', i)) { ++depth; i += 2; }
        else if (text.startsWith(';)', i)) { i += 2; if (--depth === 0) break; }
        else ++i;
      }
    } else {
      return i;
    }
  }
}

function endOfItem(text, i) {
  if (text[i] === '"') {
    for (++i; i < text.length && text[i] !== '"'; ++i) if (text[i] === '\\') ++i;
    return i + 1;
  }
  if (text[i] === '(') {
    let j = i + 1;
    for (;;) {
      j = skipSpaceAndComments(text, j);
      if (j >= text.length) throw new Error(`unbalanced parenthesis at offset ${i}`);
      if (text[j] === ')') return j + 1;
      j = endOfItem(text, j);
    }
  }
  let j = i;
  while (j < text.length && !/[\s()";]/.test(text[j])) ++j;
  return j;
}

// The items of the form text.slice(start, end) as [start, end) pairs.
function itemsOf(text, start, end) {
  const items = [];
  let i = start + 1;
  for (;;) {
    i = skipSpaceAndComments(text, i);
    if (i >= end - 1) return items;
    const j = endOfItem(text, i);
    items.push([i, j]);
    i = j;
  }
}

function escapeBytes(bytes) {
  let out = '';
  for (const b of bytes) {
    const printable = b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c;
    out += printable ? String.fromCharCode(b) : '\\' + b.toString(16).padStart(2, '0');
  }
  return out;
}

const stats = { converted: 0, refused: 0 };
let wasmDir = null;

// `(component ...)` in text form -> its binary form; anything else unchanged.
async function convertComponent(text, start, end) {
  const items = itemsOf(text, start, end);
  if (items.length === 0 || text.slice(...items[0]) !== 'component') return text.slice(start, end);
  let k = 1;
  const kept = [];  // `definition`, `$id`
  while (k < items.length && text[items[k][0]] !== '(' && text[items[k][0]] !== '"') {
    const atom = text.slice(...items[k]);
    if (atom === 'binary' || atom === 'quote' || atom === 'instance') {
      return text.slice(start, end);  // already binary, a text-format test, or a run
    }
    kept.push(atom);
    ++k;
  }
  // The text parser does not know `definition` (a script keyword): parse without it.
  const id = kept.filter((a) => a !== 'definition');
  const source = '(component ' + id.join(' ') + ' ' + text.slice(items[k]?.[0] ?? end - 1, end);
  try {
    const bytes = await parse(source);
    ++stats.converted;
    if (wasmDir) fs.writeFileSync(path.join(wasmDir, `${stats.converted}.wasm`), bytes);
    return `(component ${kept.join(' ')} binary "${escapeBytes(bytes)}")`;
  } catch (error) {
    ++stats.refused;
    const message = String(error.message ?? error).split('\n')[0].replace(/[\\"]/g, ' ');
    return `(component ${kept.join(' ')} text-refused "${message}")`;
  }
}

async function convertFile(source) {
  const text = fs.readFileSync(source, 'utf8');
  let out = '';
  let copied = 0;
  let i = 0;
  for (;;) {
    i = skipSpaceAndComments(text, i);
    if (i >= text.length) break;
    const end = endOfItem(text, i);
    if (text[i] === '(') {
      const items = itemsOf(text, i, end);
      const head = items.length ? text.slice(...items[0]) : '';
      let target = null;  // the [start, end) of the component form to replace
      if (head === 'component') target = [i, end];
      else if (head.startsWith('assert_') && items.length > 1 && text[items[1][0]] === '(') {
        target = items[1];
      }
      if (target) {
        // The replacement keeps the original's line count, so that line numbers in reports
        // are the source file's.
        const lines = text.slice(...target).split('\n').length - 1;
        out += text.slice(copied, target[0]) + (await convertComponent(text, ...target)) +
               '\n'.repeat(lines);
        copied = target[1];
      }
    }
    i = end;
  }
  return out + text.slice(copied);
}

async function main() {
  const [sourceDir, outputDir, wasmOutput] = process.argv.slice(2);
  if (!sourceDir || !outputDir) {
    console.error('usage: component-text-to-binary.mjs SOURCE_DIR OUTPUT_DIR [WASM_DIR]');
    process.exit(2);
  }
  if (wasmOutput) {
    fs.mkdirSync(wasmOutput, { recursive: true });
    wasmDir = wasmOutput;
  }
  const walk = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.wast') ? [path.join(dir, e.name)] : []);
  for (const file of walk(sourceDir).sort()) {
    const target = path.join(outputDir, path.relative(sourceDir, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, await convertFile(file));
  }
  console.log(`component-text-to-binary: ${stats.converted} components encoded, ${stats.refused} refused by the text parser`);
}

main().catch((error) => {
  console.error(`component-text-to-binary: ${error.message}`);
  process.exit(1);
});
