// Calls of values.wit's exports for differential.mjs (types as it describes them).
const point = ['record', ['x', 's32'], ['y', 's32'], ['label', ['option', 'string']]];
const shape = ['variant', ['circle', 'f64'], ['rect', point], ['empty', null]];
const color = ['enum', 'red', 'green', 'blue'];
const permissions = ['flags', 'read', 'write', 'exec'];

export const cases = [
  { fn: 'add', params: ['s32', 's32'], result: 's32', args: [2, -5] },
  { fn: 'add', params: ['s32', 's32'], result: 's32', args: [2147483647, 1] },
  { fn: 'greet', params: ['string'], result: 'string', args: ['kiln'] },
  { fn: 'greet', params: ['string'], result: 'string', args: ['w\u00f6rld \u{1F600} "q" \\ \t'] },
  { fn: 'greet', params: ['string'], result: 'string', args: [''] },
  { fn: 'sum', params: [['list', 'u32']], result: 'u64', args: [[1, 2, 4294967295]] },
  { fn: 'sum', params: [['list', 'u32']], result: 'u64', args: [[]] },
  { fn: 'reverse', params: [['list', 'u8']], result: ['list', 'u8'], args: [new Uint8Array([1, 2, 255])] },
  { fn: 'next-color', params: [color], result: color, args: ['blue'] },
  { fn: 'next-color', params: [color], result: color, args: ['red'] },
  { fn: 'toggle', params: [permissions, permissions], result: permissions,
    args: [{ read: true, write: false, exec: true }, { read: false, write: true, exec: true }] },
  { fn: 'translate', params: [point, 's32', 's32'], result: point,
    args: [{ x: 1, y: 2, label: 'p' }, 10, -20] },
  { fn: 'translate', params: [point, 's32', 's32'], result: point,
    args: [{ x: -7, y: 0, label: undefined }, 0, 3] },
  { fn: 'area', params: [shape], result: 'f64', args: [{ tag: 'circle', val: 2.5 }] },
  { fn: 'area', params: [shape], result: 'f64',
    args: [{ tag: 'rect', val: { x: -3, y: 4, label: 'r' } }] },
  { fn: 'area', params: [shape], result: 'f64', args: [{ tag: 'empty' }] },
  { fn: 'parse-number', params: ['string'], result: ['result', 'u32', 'string'], args: ['4294967295'] },
  { fn: 'parse-number', params: ['string'], result: ['result', 'u32', 'string'], args: ['4294967296'] },
  { fn: 'parse-number', params: ['string'], result: ['result', 'u32', 'string'], args: ['12a'] },
  { fn: 'first-char', params: ['string'], result: ['option', 'char'], args: ['\u20acuro'] },
  { fn: 'first-char', params: ['string'], result: ['option', 'char'], args: ['\u{1F600}'] },
  { fn: 'first-char', params: ['string'], result: ['option', 'char'], args: [''] },
  { fn: 'halve', params: ['f32'], result: 'f32', args: [3] },
  { fn: 'halve', params: ['f32'], result: 'f32', args: [Math.fround(0.1)] },
  { fn: 'halve', params: ['f32'], result: 'f32', args: [-Infinity] },
  { fn: 'swap', params: [['tuple', 'u8', 's64']], result: ['tuple', 's64', 'u8'],
    args: [[7, -9000000000n]] },
  { fn: 'words', params: ['string'], result: ['list', 'string'], args: ['  the quick  brown fox '] },
  { fn: 'words', params: ['string'], result: ['list', 'string'], args: [''] },
  { fn: 'is-even', params: ['u64'], result: 'bool', args: [18446744073709551614n] },
  { fn: 'is-even', params: ['u64'], result: 'bool', args: [3n] },
];
