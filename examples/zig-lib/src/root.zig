//! A library: every `export fn` is exported from the module, which imports nothing.
export fn add(a: i32, b: i32) i32 {
    return a + b;
}
