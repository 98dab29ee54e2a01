;; A WASI 0.2 command written by hand that shows what the host granted it. It prints a greeting,
;; then one line per argument ("arg: A"), environment variable ("env: K=V") and preopened
;; directory ("dir: GUEST"). Its first argument picks an ending: "fail" exits through
;; wasi:cli/exit with an error (status 1), "spin" loops forever, "grow" asks for 64 MiB more
;; memory and says whether it got it, "trap" traps.
(component
  (import "wasi:io/error@0.2.0" (instance $error
    (export "error" (type (sub resource)))))
  (alias export $error "error" (type $error-t))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (export "output-stream" (type $os (sub resource)))
    (alias outer 1 $error-t (type $err))
    (export "error" (type $err2 (eq $err)))
    (type $se (variant (case "last-operation-failed" (own $err2)) (case "closed")))
    (export "stream-error" (type $se2 (eq $se)))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $se2)))))))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (alias outer 1 $output-stream (type $os))
    (export "output-stream" (type $os2 (eq $os)))
    (export "get-stdout" (func (result (own $os2))))))
  (import "wasi:cli/environment@0.2.0" (instance $environment
    (export "get-environment" (func (result (list (tuple string string)))))
    (export "get-arguments" (func (result (list string))))))
  (import "wasi:cli/exit@0.2.0" (instance $exit
    (export "exit" (func (param "status" (result))))))
  (import "wasi:filesystem/types@0.2.0" (instance $types
    (export "descriptor" (type (sub resource)))))
  (alias export $types "descriptor" (type $descriptor-t))
  (import "wasi:filesystem/preopens@0.2.0" (instance $preopens
    (alias outer 1 $descriptor-t (type $d))
    (export "descriptor" (type $d2 (eq $d)))
    (export "get-directories" (func (result (list (tuple (own $d2) string)))))))

  ;; memory and a bump allocator, instantiated first so that lowered functions can use them
  (core module $alloc
    (memory (export "memory") 2)
    (global $next (mut i32) (i32.const 65536))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                              (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $at) (local.get 3)))
      (local.get $at)))
  (core instance $alloc (instantiate $alloc))
  (alias core export $alloc "memory" (core memory $memory))
  (alias core export $alloc "realloc" (core func $realloc))

  (core func $get-stdout (canon lower (func $stdout "get-stdout")))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush")
    (memory $memory)))
  (core func $get-arguments (canon lower (func $environment "get-arguments") (memory $memory) (realloc $realloc)))
  (core func $get-environment (canon lower (func $environment "get-environment") (memory $memory) (realloc $realloc)))
  (core func $get-directories (canon lower (func $preopens "get-directories") (memory $memory) (realloc $realloc)))
  (core func $exit (canon lower (func $exit "exit")))

  (core module $m
    (import "host" "memory" (memory 2))
    (import "host" "get-stdout" (func $get-stdout (result i32)))
    (import "host" "write" (func $write-raw (param i32 i32 i32 i32)))
    (import "host" "get-arguments" (func $get-arguments (param i32)))
    (import "host" "get-environment" (func $get-environment (param i32)))
    (import "host" "get-directories" (func $get-directories (param i32)))
    (import "host" "exit" (func $exit (param i32)))
    (global $out (mut i32) (i32.const 0))
    (data (i32.const 64) "hello from a component\n")   ;; 23 bytes
    (data (i32.const 96) "arg: ")                       ;; 5
    (data (i32.const 104) "env: ")                      ;; 5
    (data (i32.const 112) "dir: ")                      ;; 5
    (data (i32.const 120) "=")                          ;; 1
    (data (i32.const 124) "\n")                         ;; 1
    (data (i32.const 128) "grow refused\n")             ;; 13
    (data (i32.const 144) "grew\n")                     ;; 5
    (func $write (param $ptr i32) (param $len i32)
      (call $write-raw (global.get $out) (local.get $ptr) (local.get $len) (i32.const 0)))
    (func $line (param $label i32) (param $ptr i32) (param $len i32)
      (call $write (local.get $label) (i32.const 5))
      (call $write (local.get $ptr) (local.get $len))
      (call $write (i32.const 124) (i32.const 1)))
    (func (export "run") (result i32)
      (local $base i32) (local $count i32) (local $i i32) (local $e i32) (local $first i32)
      (global.set $out (call $get-stdout))
      (call $write (i32.const 64) (i32.const 23))
      ;; arguments after the program name
      (call $get-arguments (i32.const 32))
      (local.set $base (i32.load (i32.const 32)))
      (local.set $count (i32.load (i32.const 36)))
      (local.set $i (i32.const 1))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $e (i32.add (local.get $base) (i32.mul (local.get $i) (i32.const 8))))
        (call $line (i32.const 96) (i32.load (local.get $e)) (i32.load offset=4 (local.get $e)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      ;; the first argument's first byte picks the ending
      (if (i32.gt_u (local.get $count) (i32.const 1))
        (then (local.set $first (i32.load8_u (i32.load offset=8 (local.get $base))))))
      ;; environment
      (call $get-environment (i32.const 32))
      (local.set $base (i32.load (i32.const 32)))
      (local.set $count (i32.load (i32.const 36)))
      (local.set $i (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $e (i32.add (local.get $base) (i32.mul (local.get $i) (i32.const 16))))
        (call $write (i32.const 104) (i32.const 5))
        (call $write (i32.load (local.get $e)) (i32.load offset=4 (local.get $e)))
        (call $write (i32.const 120) (i32.const 1))
        (call $write (i32.load offset=8 (local.get $e)) (i32.load offset=12 (local.get $e)))
        (call $write (i32.const 124) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      ;; preopened directories
      (call $get-directories (i32.const 32))
      (local.set $base (i32.load (i32.const 32)))
      (local.set $count (i32.load (i32.const 36)))
      (local.set $i (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $e (i32.add (local.get $base) (i32.mul (local.get $i) (i32.const 12))))
        (call $line (i32.const 112) (i32.load offset=4 (local.get $e)) (i32.load offset=8 (local.get $e)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
      (if (i32.eq (local.get $first) (i32.const 102)) (then (call $exit (i32.const 1))))     ;; "fail"
      (if (i32.eq (local.get $first) (i32.const 115)) (then (loop $forever (br $forever)))) ;; "spin"
      (if (i32.eq (local.get $first) (i32.const 116)) (then unreachable))                  ;; "trap"
      (if (i32.eq (local.get $first) (i32.const 103))                                       ;; "grow"
        (then
          (if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1))
            (then (call $write (i32.const 128) (i32.const 13)))
            (else (call $write (i32.const 144) (i32.const 5))))))
      (i32.const 0)))
  (core instance $i (instantiate $m (with "host" (instance
    (export "memory" (memory $memory))
    (export "get-stdout" (func $get-stdout))
    (export "write" (func $write))
    (export "get-arguments" (func $get-arguments))
    (export "get-environment" (func $get-environment))
    (export "get-directories" (func $get-directories))
    (export "exit" (func $exit))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $runi (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $runi)))
