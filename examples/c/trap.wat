;; trap.c's module: a host function that fails, and a division that can trap, each reached
;; through a chain of calls.
(module $traps
  (import "host" "fail" (func $fail))
  (func $inner (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $outer (export "divide") (param i32 i32) (result i32)
    (call $inner (local.get 0) (local.get 1)))
  (func $calls_host (export "call_host") (call $fail)))
