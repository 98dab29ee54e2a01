//! Prints a greeting and its arguments: `wasmrun exec examples/rust-hello a b`.

fn main() {
    println!("hello from Rust");
    for (i, arg) in std::env::args().enumerate().skip(1) {
        println!("arg {i}: {arg}");
    }
}
