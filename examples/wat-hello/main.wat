;; Prints "hello from WebAssembly text" through WASI's fd_write, then exits 0.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: { buf = 16, len = 28 }
  (data (i32.const 0) "\10\00\00\00\1c\00\00\00")
  (data (i32.const 16) "hello from WebAssembly text\n")
  (func $main (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; A library export too, to call with `wasmrun exec --invoke add FILE 2 3`.
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
