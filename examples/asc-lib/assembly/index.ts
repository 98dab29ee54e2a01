// A library: every exported function is exported from the module (and from its ESM bindings).
export function add(a: i32, b: i32): i32 {
  return a + b;
}
