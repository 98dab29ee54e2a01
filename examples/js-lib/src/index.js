// A library component: each export is a function of the world in wit/ (names in camelCase).
export function add(a, b) {
  return a + b;
}

export function greet(name) {
  return `hello, ${name}`;
}

export function total(items) {
  return items.reduce((sum, item) => sum + item.qty, 0);
}

export function find(items, name) {
  return items.find((item) => item.name === name) ?? null;
}

// result<u32, string>: return the value, or throw the error.
export function parseQty(text) {
  const qty = Number(text);
  if (!Number.isInteger(qty) || qty < 0) throw `not a quantity: ${text}`;
  return qty;
}
