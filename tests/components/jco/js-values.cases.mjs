// Calls of js-values.wit's exports for differential.mjs (types as it describes them).
const person = ['record', ['name', 'string'], ['age', 'u8'], ['email', ['option', 'string']]];
const event = ['variant', ['login', 'string'], ['logout', null], ['failure', 'u32']];

export const cases = [
  { fn: 'describe', params: [person], result: 'string',
    args: [{ name: 'Ada', age: 36, email: 'ada@example.org' }] },
  { fn: 'describe', params: [person], result: 'string', args: [{ name: 'Bob', age: 7 }] },
  { fn: 'older', params: [person, 'u8'], result: person, args: [{ name: 'Ada', age: 36 }, 4] },
  { fn: 'older', params: [person, 'u8'], result: person,
    args: [{ name: '\u00c5sa', age: 0, email: 'a@b' }, 255] },
  { fn: 'classify', params: [event], result: 'string', args: [{ tag: 'login', val: 'ada' }] },
  { fn: 'classify', params: [event], result: 'string', args: [{ tag: 'logout' }] },
  { fn: 'classify', params: [event], result: 'string', args: [{ tag: 'failure', val: 404 }] },
  { fn: 'tally', params: [['list', 'string']], result: ['list', ['tuple', 'string', 'u32']],
    args: [['a', 'b', 'a', '\u00e9', 'b', 'a']] },
  { fn: 'tally', params: [['list', 'string']], result: ['list', ['tuple', 'string', 'u32']],
    args: [[]] },
  { fn: 'divide', params: ['f64', 'f64'], result: ['result', 'f64', 'string'], args: [1, 4] },
  { fn: 'divide', params: ['f64', 'f64'], result: ['result', 'f64', 'string'], args: [1, 3] },
  { fn: 'divide', params: ['f64', 'f64'], result: ['result', 'f64', 'string'], args: [1, 0] },
  { fn: 'upper', params: ['string'], result: 'string', args: ['stra\u00dfe \u{1F600} caf\u00e9'] },
  { fn: 'lookup', params: ['u32'], result: ['option', 'string'], args: [1] },
  { fn: 'lookup', params: ['u32'], result: ['option', 'string'], args: [9] },
];
