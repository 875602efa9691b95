;; A guest that imports WASI functions with other types than WASI's (the linker matches imports
;; by name): wasi:random's get-random-u64 as taking a u32, and wasi:cli/exit's exit as taking a
;; u64 instead of a result. The WASI 0.2 host must trap, never read arguments that are not there
;; (wasi_components_test.cpp).
(component
  (import "wasi:random/random@0.2.12" (instance $random
    (export "get-random-u64" (func (param "len" u32) (result u64)))))
  (import "wasi:cli/exit@0.2.12" (instance $exit
    (export "exit" (func (param "status" u64)))))
  (alias export $random "get-random-u64" (func $get))
  (alias export $exit "exit" (func $exit))
  (core func $get-lowered (canon lower (func $get)))
  (core func $exit-lowered (canon lower (func $exit)))
  (core module $main
    (import "host" "get" (func $get (param i32) (result i64)))
    (import "host" "exit" (func $exit (param i64)))
    (func (export "draw") (result i64) (call $get (i32.const 7)))
    (func (export "quit") (call $exit (i64.const 0))))
  (core instance $main (instantiate $main
    (with "host" (instance (export "get" (func $get-lowered)) (export "exit" (func $exit-lowered))))))
  (func (export "draw") (result u64) (canon lift (core func $main "draw")))
  (func (export "quit") (canon lift (core func $main "quit"))))
