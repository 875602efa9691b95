// The exports of js-values.wit, in JavaScript (componentize-js's conventions: records are
// objects, variants {tag, val}, options undefined or the value, a thrown value is a result's err).
export function describe(p) {
  return `${p.name} (${p.age})` + (p.email == null ? '' : ` <${p.email}>`);
}

export function older(p, years) {
  return { ...p, age: p.age + years };
}

export function classify(e) {
  switch (e.tag) {
    case 'login':
      return `welcome, ${e.val}`;
    case 'logout':
      return 'goodbye';
    default:
      return `failure ${e.val}`;
  }
}

export function tally(words) {
  const counts = new Map();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts.entries()];
}

export function divide(a, b) {
  if (b === 0) throw 'division by zero';
  return a / b;
}

export function upper(s) {
  return s.toUpperCase();
}

export function lookup(key) {
  return ['zero', 'one', 'two'][key];
}
